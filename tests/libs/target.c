/* target.c: loads and unloads libraries on command. One command per line on
 * stdin, one "<command>=<result>" line on stdout:
 *   open PATH [lazy|now] [global]  dlopen: "ok" or the dlerror() text
 *   close                           dlclose of the last handle opened
 *   call                            late_answer() through dlsym, or "none"
 *   default                         late_answer() through RTLD_DEFAULT, or "none"
 *   chdir DIR                       for relative dlopen paths
 *   churn N PATH                    N threads dlopen PATH, call late_answer()
 *                                   and dlclose it, in a loop
 *   check                           "<calls> <bad>": calls by the churn
 *                                   threads, and results that were neither
 *                                   the original's nor the patch's
 *   quit */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char churn_path[4096];
static atomic_long churn_calls, churn_bad;
static atomic_int churn_stop;

static void *churner(void *arg) {
	(void)arg;
	while (!atomic_load(&churn_stop)) {
		void *h = dlopen(churn_path, RTLD_NOW);
		if (!h) {
			atomic_fetch_add(&churn_bad, 1);
			continue;
		}
		int (*f)(void) = (int (*)(void))dlsym(h, "late_answer");
		int v = f ? f() : -1;
		if (v != 7 && v != 1041)
			atomic_fetch_add(&churn_bad, 1);
		atomic_fetch_add(&churn_calls, 1);
		dlclose(h);
	}
	return NULL;
}

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
		} else if (!strncmp(line, "churn ", 6)) {
			int count = 0;
			sscanf(line + 6, "%d %4095s", &count, churn_path);
			pthread_t t;
			for (int i = 0; i < count; i++)
				pthread_create(&t, NULL, churner, NULL);
			printf("churn=%d\n", count);
		} else if (!strcmp(line, "check")) {
			printf("check=%ld %ld\n", atomic_load(&churn_calls), atomic_load(&churn_bad));
		} else if (!strcmp(line, "quit")) {
			atomic_store(&churn_stop, 1);
			break;
		} else {
			printf("%s=unknown\n", line);
		}
	}
	return 0;
}
