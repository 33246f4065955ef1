/* target.c: loads and unloads libraries on command. One command per line on
 * stdin, one "<command>=<result>" line on stdout:
 *   open PATH [lazy|now] [global]  dlopen: "ok" or the dlerror() text
 *   close                           dlclose of the last handle opened
 *   call                            late_answer() through dlsym, or "none"
 *   default                         late_answer() through RTLD_DEFAULT, or "none"
 *   chdir DIR                       for relative dlopen paths
 *   quit */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	char line[4096];
	void *handles[16];
	int n = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		char path[4096];
		if (!strncmp(line, "open ", 5)) {
			int flags = strstr(line, " lazy") ? RTLD_LAZY : RTLD_NOW;
			if (strstr(line, " global"))
				flags |= RTLD_GLOBAL;
			sscanf(line + 5, "%4095s", path);
			void *h = n < 16 ? dlopen(path, flags) : NULL;
			if (h)
				handles[n++] = h;
			printf("open=%s\n", h ? "ok" : dlerror());
		} else if (!strcmp(line, "close")) {
			printf("close=%d\n", n ? dlclose(handles[--n]) : -1);
		} else if (!strcmp(line, "call")) {
			int (*f)(void) = n ? (int (*)(void))dlsym(handles[n - 1], "late_answer") : NULL;
			if (f)
				printf("call=%d\n", f());
			else
				printf("call=none\n");
		} else if (!strcmp(line, "default")) {
			int (*f)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "late_answer");
			if (f)
				printf("default=%d\n", f());
			else
				printf("default=none\n");
		} else if (!strncmp(line, "chdir ", 6)) {
			printf("chdir=%d\n", chdir(line + 6));
		} else if (!strcmp(line, "quit")) {
			break;
		} else {
			printf("%s=unknown\n", line);
		}
	}
	return 0;
}
