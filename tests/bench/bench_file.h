/* bench_file.h: what every bench program of tests/bench needs, reading its message. */
#ifndef BENCH_FILE_H
#define BENCH_FILE_H

#include <stdio.h>
#include <stdlib.h>

/* Reads the whole file at path into a malloc'd buffer and sets *len. Returns NULL
   (after perror) when it cannot be read or memory runs out. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		char *b = realloc(buf, cap * 2);
		if (!b)
			free(buf);
		buf = b;
		cap *= 2;
	}
	fclose(f);
	*len = n;
	return buf;
}

#endif
