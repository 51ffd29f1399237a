/*
 * standalone.c: main() for the fuzz targets without libFuzzer: feed each
 * file named on the command line (a directory: each file in it, in name
 * order) to LLVMFuzzerTestOneInput once. Without arguments, a program
 * named fuzz_NAME replays FUZZ_DIR/corpus/NAME and FUZZ_DIR/regress/NAME,
 * which is what `make check` runs. A crash or failed oracle aborts; an empty or missing
 * corpus directory fails, so a replay that tests nothing is not a pass.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	/* Exactly len bytes, so that ASan sees a read past the input. */
	if ((buf = realloc(buf, len ? len : 1)) == NULL)
		abort();
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of inputs replayed, or -1. */
static int
replay(const char *path)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL, full[4096];
	size_t n = 0, i;
	DIR *d;
	int count = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path) < 0 ? -1 : 1;
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((names = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (names[n] = strdup(de->d_name)) == NULL)
			abort();
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		if (replay_file(full) < 0)
			count = -1;
		else if (count >= 0)
			count++;
		free(names[i]);
	}
	free(names);
	return count;
}

int
main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	char path[4096];
	int i, n, total = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if ((n = replay(argv[i])) < 0)
				return 1;
			total += n;
		}
		printf("%d inputs replayed\n", total);
		return 0;
	}
	name = name != NULL ? name + 1 : argv[0];
	if (strncmp(name, "fuzz_", 5) != 0) {
		fprintf(stderr, "usage: fuzz_NAME [FILE|DIR...]\n");
		return 2;
	}
	name += 5;
	snprintf(path, sizeof(path), "%s/corpus/%s", FUZZ_DIR, name);
	if ((n = replay(path)) <= 0) {
		fprintf(stderr, "%s: no corpus\n", path);
		return 1;
	}
	total = n;
	snprintf(path, sizeof(path), "%s/regress/%s", FUZZ_DIR, name);
	if (access(path, F_OK) == 0) {
		if ((n = replay(path)) < 0)
			return 1;
		total += n;
	}
	printf("%s: %d inputs replayed\n", name, total);
	return 0;
}
