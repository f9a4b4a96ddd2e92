/* The composer's small owned pieces: copied strings and growable lists. */
#include <stdlib.h>
#include <string.h>

#include "compose/compose.h"

char *smtpi_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int smtpi_list_push(struct smtpi_list *l, size_t item_size, const void *item)
{
	if (l->n >= SMTPI_COMPOSE_MAX_ITEMS)
		return SMTP_EINVAL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		void *v = realloc(l->v, cap * item_size);
		if (!v)
			return SMTP_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	memcpy((char *)l->v + l->n * item_size, item, item_size);
	l->n++;
	return 0;
}
