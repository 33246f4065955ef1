/* seq_file.h: cmdline-proc's seq_file (include/linux/seq_file.h, reduced):
 * the interface between the target and livepatch-sample.c. */
#ifndef CMDLINE_PROC_SEQ_FILE_H
#define CMDLINE_PROC_SEQ_FILE_H

#include <stddef.h>

struct seq_file {
	char buf[4096];
	size_t count;
};

void seq_printf(struct seq_file *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void seq_puts(struct seq_file *m, const char *s);

#endif /* CMDLINE_PROC_SEQ_FILE_H */
