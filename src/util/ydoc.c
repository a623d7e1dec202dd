/* ydoc.c -- reading YAML with libyaml's event parser into a positioned node
 * tree: !include, duplicate keys, aliases with an expansion budget, and
 * limits on size and depth. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "partsfs/util/confine.h"
#include "partsfs/util/ydoc.h"

const struct ydoc_limits ydoc_default_limits = {
	.max_file_bytes = 16u << 20,
	.max_depth = 64,
	.max_nodes = 4u << 20,
	.max_include_depth = 4,
};

/* A node under construction. */
struct frame {
	struct ynode *node;
	struct ynode **items;
	size_t n;
	size_t cap;
	size_t weight;
	int anchor;           /* index in anchors, -1 when none */
};

struct anchor {
	char *name;
	struct ynode *node;
	size_t weight;
	bool complete;
};

struct loader {
	struct arena *arena;
	const char *display;
	const char *include_root;
	const struct ydoc_limits *limits;
	struct diags *diags;
	int include_depth;
	/* the directory includes are relative to, as diagnostics name it:
	 * that of the document that includes the others (includes of an
	 * include are relative to the same directory, not to the file) */
	const char *incdir;
	const struct ydoc_seen *seen;   /* told of each include, or NULL */
	/* nodes made, aliases expanded: one count for a document and all it
	 * includes (each include would otherwise have a budget of its own,
	 * and includes that include others multiply it) */
	size_t *nodes;
	struct frame *stack;
	size_t depth;
	size_t stack_cap;
	struct anchor *anchors;
	size_t nanchors;
	size_t anchors_cap;
	/* the latest anchor of each name: a table of indexes + 1 (0 empty),
	 * open addressing, at most half full (a linear search per alias
	 * made 100000 aliases of 100000 anchors take 25 s) */
	uint32_t *slots;
	size_t nslots;
	bool failed;
};

static struct ynode *load_buffer(struct arena *, const char *, size_t,
    const char *, const char *, const char *, const struct ydoc_seen *,
    const struct ydoc_limits *,
    struct diags *, int, size_t *);

const char *
ykind_name(enum ykind k)
{
	switch (k) {
	case Y_NULL:
		return "null";
	case Y_SCALAR:
		return "scalar";
	case Y_SEQ:
		return "list";
	case Y_MAP:
		return "mapping";
	}
	return "?";
}

static void
lerror(struct loader *l, const yaml_mark_t *m, const char *fmt, ...)
    PF_PRINTF(3, 4);

static void
lerror(struct loader *l, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(l->diags, DIAG_ERROR, l->display,
	    m != NULL ? (int)m->line + 1 : 0, m != NULL ? (int)m->column + 1 : 0,
	    "%s", msg);
	free(msg);
	l->failed = true;
}

/* An error after which reading can go on: the offending value becomes
 * null and the rest of the file is still checked. */
static void
lerror_soft(struct loader *l, const yaml_mark_t *m, const char *fmt, ...)
    PF_PRINTF(3, 4);

static void
lerror_soft(struct loader *l, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(l->diags, DIAG_ERROR, l->display, (int)m->line + 1,
	    (int)m->column + 1, "%s", msg);
	free(msg);
}

static struct ynode *
new_node(struct loader *l, enum ykind kind, const yaml_mark_t *m)
{
	struct ynode *n = arena_alloc(l->arena, sizeof *n);

	n->kind = kind;
	n->file = l->display;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

bool
yscalar_is_null(const struct ynode *n)
{
	if (n == NULL || n->kind == Y_NULL)
		return true;
	if (n->kind != Y_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}

bool
yscalar_is_none(const struct ynode *n)
{
	return n != NULL && n->kind == Y_SCALAR && n->plain &&
	    strcmp(n->str, "None") == 0;
}

/* Add a finished node to the innermost open collection (or make it the
 * document root). */
static void
attach(struct loader *l, struct ynode *n, size_t weight, struct ynode **root)
{
	struct frame *f;

	if (l->depth == 0) {
		*root = n;
		return;
	}
	f = &l->stack[l->depth - 1];
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->items = xreallocarray(f->items, f->cap, sizeof *f->items);
	}
	f->items[f->n++] = n;
	f->weight += weight;
}

static uint64_t
anchor_hash(const char *name)
{
	uint64_t h = 1469598103934665603ull;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

/* The slot of `name`: where its index is, or the empty one it goes in. */
static uint32_t *
anchor_slot(struct loader *l, const char *name)
{
	size_t mask = l->nslots - 1, i = (size_t)anchor_hash(name) & mask;

	while (l->slots[i] != 0 &&
	    strcmp(l->anchors[l->slots[i] - 1].name, name) != 0)
		i = (i + 1) & mask;
	return &l->slots[i];
}

static void
anchor_index(struct loader *l, uint32_t idx)
{
	if (2 * (l->nanchors + 1) > l->nslots) {
		uint32_t *old = l->slots;
		size_t nold = l->nslots;

		l->nslots = l->nslots ? l->nslots * 2 : 64;
		l->slots = xcalloc(l->nslots, sizeof *l->slots);
		for (size_t i = 0; i < nold; i++)
			if (old[i] != 0)
				*anchor_slot(l, l->anchors[old[i] - 1].name) =
				    old[i];
		free(old);
	}
	/* a name defined again: the latest wins, as YAML says */
	*anchor_slot(l, l->anchors[idx].name) = idx + 1;
}

static int
anchor_add(struct loader *l, const char *name, struct ynode *n, bool complete)
{
	struct anchor *a;

	if (l->nanchors == l->anchors_cap) {
		l->anchors_cap = l->anchors_cap ? l->anchors_cap * 2 : 8;
		l->anchors = xreallocarray(l->anchors, l->anchors_cap,
		    sizeof *l->anchors);
	}
	a = &l->anchors[l->nanchors];
	a->name = xstrdup(name);
	a->node = n;
	a->weight = 1;
	a->complete = complete;
	anchor_index(l, (uint32_t)l->nanchors);
	return (int)l->nanchors++;
}

static struct anchor *
anchor_find(struct loader *l, const char *name)
{
	uint32_t *slot;

	if (l->nslots == 0)
		return NULL;
	slot = anchor_slot(l, name);
	return *slot != 0 ? &l->anchors[*slot - 1] : NULL;
}

static bool
count_nodes(struct loader *l, size_t n, const yaml_mark_t *m)
{
	if (n > l->limits->max_nodes - *l->nodes) {
		lerror(l, m, "the document expands to more than %zu nodes "
		    "(aliases or includes that multiply, a \"YAML bomb\"?)",
		    l->limits->max_nodes);
		return false;
	}
	*l->nodes += n;
	return true;
}

/* Resolve an !include: a path relative to include_root that must stay
 * inside it.  *weight: the nodes it added (what an alias of it costs). */
static struct ynode *
include_file(struct loader *l, const char *rel, const yaml_mark_t *m,
    size_t *weight)
{
	size_t before = *l->nodes;
	char *display = NULL, *link = NULL, *target = NULL;
	struct ynode *n = NULL;
	struct stat st;
	char *data = NULL;
	ssize_t got;
	size_t len = 0;
	int fd;

	if (l->include_root == NULL) {
		lerror_soft(l, m, "!include is not allowed here");
		return NULL;
	}
	if (l->include_depth >= l->limits->max_include_depth) {
		lerror_soft(l, m, "!include nested more than %d deep",
		    l->limits->max_include_depth);
		return NULL;
	}
	if (rel[0] == '\0' || rel[0] == '/') {
		lerror_soft(l, m, "!include path '%s' must be relative to the data "
		    "directory", rel);
		return NULL;
	}
	/* O_NONBLOCK: a FIFO is refused below, not waited on */
	fd = open_beneath(l->include_root, rel, O_RDONLY | O_NONBLOCK, &link,
	    &target);
	if (l->seen != NULL) {
		/* what was found (or not) there, for live reloading */
		char *path = xasprintf("%s/%s", l->include_root, rel);
		int saved = errno;
		l->seen->fn(l->seen->arg, path, fd != -1 && fstat(fd, &st) == 0 ?
		    &st : NULL);
		free(path);
		errno = saved;
	}
	if (fd == -1 && errno == EXDEV) {
		if (link != NULL)
			lerror_soft(l, m, "!include '%s' points outside the "
			    "data directory: %s is a link to %s (refused)", rel,
			    link, target);
		else
			lerror_soft(l, m, "!include '%s' points outside the "
			    "data directory", rel);
		goto out;
	}
	if (fd == -1 || fstat(fd, &st) == -1) {
		lerror_soft(l, m, "!include '%s': %s", rel, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		lerror_soft(l, m, "!include '%s' is not a regular file", rel);
		goto out;
	}
	if ((uintmax_t)st.st_size > l->limits->max_file_bytes) {
		lerror_soft(l, m, "!include '%s' is larger than %zu bytes", rel,
		    l->limits->max_file_bytes);
		goto out;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		got = read(fd, data + len, (size_t)st.st_size - len);
		if (got <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			break;
		}
		len += (size_t)got;
	}
	/* Diagnostics name the included file relative to the library: the
	 * directory of the top document plus the include path. */
	if (l->incdir == NULL) {
		const char *slash = strrchr(l->display, '/');
		l->incdir = slash != NULL ? arena_strndup(l->arena, l->display,
		    (size_t)(slash - l->display)) : "";
	}
	display = l->incdir[0] != '\0' ? arena_printf(l->arena, "%s/%s",
	    l->incdir, rel) : arena_strdup(l->arena, rel);
	n = load_buffer(l->arena, data, len, display, l->incdir,
	    l->include_root, l->seen, l->limits, l->diags, l->include_depth + 1,
	    l->nodes);
	if (n == NULL && *l->nodes >= l->limits->max_nodes)
		l->failed = true;   /* the budget is spent: so is ours */
	*weight = *l->nodes - before + 1;
out:
	if (fd != -1)
		close(fd);
	free(data);
	free(link);
	free(target);
	return n;
}

static int
key_cmp(const void *pa, const void *pb)
{
	const struct ynode *const *a = pa, *const *b = pb;
	int c = strcmp((*a)->str, (*b)->str);

	if (c != 0)
		return c;
	/* same key: earlier position first */
	if ((*a)->line != (*b)->line)
		return (*a)->line < (*b)->line ? -1 : 1;
	return (*a)->col < (*b)->col ? -1 : (*a)->col > (*b)->col;
}

/* Remove earlier duplicates of a mapping's keys, warning at the later
 * key, and pairs whose key is not a scalar (an error).  Keys of one mapping
 * come from one file, so ordering by (string, line, col) finds them. */
static void
dedup_keys(struct loader *l, struct frame *f)
{
	size_t npairs = f->n / 2, nkeys = 0, out = 0;
	struct ynode **keys;
	bool *drop;

	if (npairs == 0)
		return;
	keys = xmalloc(npairs * sizeof *keys);
	drop = xcalloc(npairs, sizeof *drop);
	for (size_t i = 0; i < npairs; i++) {
		struct ynode *k = f->items[2 * i];
		if (k->kind == Y_SCALAR) {
			keys[nkeys++] = k;
			continue;
		}
		diag_add(l->diags, DIAG_ERROR, k->file, k->line, k->col,
		    "a mapping key must be a plain value, not a %s",
		    ykind_name(k->kind));
		drop[i] = true;
	}
	/* Small mappings (nearly all) are compared pairwise; big ones (tables)
	 * are sorted so that duplicates become neighbours. */
	if (nkeys <= 16) {
		for (size_t i = 1; i < nkeys; i++) {
			for (size_t j = i; j > 0 &&
			    key_cmp(&keys[j - 1], &keys[j]) > 0; j--) {
				struct ynode *t = keys[j];
				keys[j] = keys[j - 1];
				keys[j - 1] = t;
			}
		}
	} else
		qsort(keys, nkeys, sizeof *keys, key_cmp);
	for (size_t i = 1; i < nkeys; i++) {
		if (strcmp(keys[i - 1]->str, keys[i]->str) != 0)
			continue;
		diag_add(l->diags, DIAG_WARNING, keys[i]->file, keys[i]->line,
		    keys[i]->col, "duplicate key '%s': this later value "
		    "replaces the one at line %d", keys[i]->str,
		    keys[i - 1]->line);
		for (size_t j = 0; j < npairs; j++) {
			if (f->items[2 * j] == keys[i - 1])
				drop[j] = true;
		}
	}
	for (size_t i = 0; i < npairs; i++) {
		if (drop[i])
			continue;
		f->items[2 * out] = f->items[2 * i];
		f->items[2 * out + 1] = f->items[2 * i + 1];
		out++;
	}
	f->n = out * 2;
	free(keys);
	free(drop);
}

static bool
tag_is(const yaml_char_t *tag, const char *want)
{
	return tag != NULL && strcmp((const char *)tag, want) == 0;
}

static void
push_frame(struct loader *l, struct ynode *n, int anchor)
{
	struct frame *f;

	if (l->depth == l->stack_cap) {
		l->stack_cap = l->stack_cap ? l->stack_cap * 2 : 16;
		l->stack = xreallocarray(l->stack, l->stack_cap,
		    sizeof *l->stack);
	}
	f = &l->stack[l->depth++];
	memset(f, 0, sizeof *f);
	f->node = n;
	f->weight = 1;
	f->anchor = anchor;
}

static void
handle_scalar(struct loader *l, yaml_event_t *ev, struct ynode **root)
{
	const char *val = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const yaml_char_t *tag = ev->data.scalar.tag;
	struct ynode *n;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	size_t weight = 1;

	if (!count_nodes(l, 1, &ev->start_mark))
		return;
	if (tag_is(tag, "!include") && strlen(val) != len) {
		lerror_soft(l, &ev->start_mark, "!include path contains a NUL "
		    "byte");
		n = new_node(l, Y_NULL, &ev->start_mark);
	} else if (tag_is(tag, "!include")) {
		n = include_file(l, val, &ev->start_mark, &weight);
		if (n == NULL)
			n = new_node(l, Y_NULL, &ev->start_mark);
	} else {
		if (tag != NULL && !tag_is(tag, "!") &&
		    !str_has_prefix((const char *)tag, "tag:yaml.org,2002:"))
			lerror_soft(l, &ev->start_mark, "unknown tag '%s' "
			    "(ignored)", (const char *)tag);
		n = new_node(l, Y_SCALAR, &ev->start_mark);
		n->str = arena_strndup(l->arena, val, len);
		n->len = len;
		/* An explicit tag makes the text non-plain: !!str 1.5 is a
		 * string, never re-read as a number or as None. */
		n->plain = plain && tag == NULL;
		if (yscalar_is_null(n) && !tag_is(tag, "tag:yaml.org,2002:str"))
			n->kind = Y_NULL;
	}
	if (ev->data.scalar.anchor != NULL) {
		int ai = anchor_add(l, (const char *)ev->data.scalar.anchor, n,
		    true);
		l->anchors[ai].weight = weight;
	}
	attach(l, n, weight, root);
}

static void
handle_start(struct loader *l, yaml_event_t *ev, enum ykind kind)
{
	const yaml_char_t *anchor, *tag;
	struct ynode *n;
	int ai = -1;

	if (kind == Y_SEQ) {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	} else {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	}
	if ((int)l->depth >= l->limits->max_depth) {
		lerror(l, &ev->start_mark, "nesting deeper than %d levels",
		    l->limits->max_depth);
		return;
	}
	if (tag != NULL &&
	    !str_has_prefix((const char *)tag, "tag:yaml.org,2002:"))
		lerror_soft(l, &ev->start_mark, "unknown tag '%s' (ignored)",
		    (const char *)tag);
	if (!count_nodes(l, 1, &ev->start_mark))
		return;
	n = new_node(l, kind, &ev->start_mark);
	if (anchor != NULL)
		ai = anchor_add(l, (const char *)anchor, n, false);
	push_frame(l, n, ai);
}

static void
handle_end(struct loader *l, struct ynode **root)
{
	struct frame f = l->stack[--l->depth];

	if (f.node->kind == Y_MAP)
		dedup_keys(l, &f);
	f.node->n = f.node->kind == Y_MAP ? f.n / 2 : f.n;
	if (f.n != 0) {
		f.node->items = arena_array(l->arena, f.n, sizeof *f.items);
		memcpy(f.node->items, f.items, f.n * sizeof *f.items);
	}
	free(f.items);
	if (f.anchor >= 0) {
		l->anchors[f.anchor].complete = true;
		l->anchors[f.anchor].weight = f.weight;
	}
	attach(l, f.node, f.weight, root);
}

static void
handle_alias(struct loader *l, yaml_event_t *ev, struct ynode **root)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct anchor *a = anchor_find(l, name);

	if (a == NULL || !a->complete) {
		if (a == NULL)
			lerror_soft(l, &ev->start_mark, "alias '*%s' has no "
			    "anchor", name);
		else
			lerror_soft(l, &ev->start_mark, "alias '*%s' refers "
			    "to a node that contains it", name);
		attach(l, new_node(l, Y_NULL, &ev->start_mark), 1, root);
		return;
	}
	if (!count_nodes(l, a->weight, &ev->start_mark))
		return;
	attach(l, a->node, a->weight, root);
}

static struct ynode *
load_buffer(struct arena *arena, const char *data, size_t len,
    const char *display, const char *incdir, const char *include_root,
    const struct ydoc_seen *seen, const struct ydoc_limits *limits,
    struct diags *diags, int include_depth, size_t *nodes)
{
	size_t own = 0;
	struct loader l = {
		.arena = arena,
		.display = display,
		.incdir = incdir,
		.include_root = include_root,
		.seen = seen,
		.limits = limits != NULL ? limits : &ydoc_default_limits,
		.diags = diags,
		.include_depth = include_depth,
		.nodes = nodes != NULL ? nodes : &own,
	};
	struct ynode *root = NULL;
	yaml_parser_t parser;
	yaml_event_t ev;
	int ndocs = 0;
	bool done = false;

	if (len > l.limits->max_file_bytes) {
		lerror(&l, NULL, "file is larger than %zu bytes",
		    l.limits->max_file_bytes);
		return NULL;
	}
	if (!yaml_parser_initialize(&parser))
		pf_fatal("cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done && !l.failed) {
		if (!yaml_parser_parse(&parser, &ev)) {
			const yaml_mark_t *m = &parser.problem_mark;
			if (parser.context != NULL)
				lerror(&l, m, "YAML syntax: %s %s",
				    parser.problem, parser.context);
			else
				lerror(&l, m, "YAML syntax: %s",
				    parser.problem != NULL ? parser.problem :
				    "cannot parse");
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1)
				lerror(&l, &ev.start_mark, "a second YAML "
				    "document: a file holds exactly one");
			break;
		case YAML_SCALAR_EVENT:
			handle_scalar(&l, &ev, &root);
			break;
		case YAML_SEQUENCE_START_EVENT:
			handle_start(&l, &ev, Y_SEQ);
			break;
		case YAML_MAPPING_START_EVENT:
			handle_start(&l, &ev, Y_MAP);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			handle_end(&l, &root);
			break;
		case YAML_ALIAS_EVENT:
			handle_alias(&l, &ev, &root);
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	while (l.depth > 0)
		free(l.stack[--l.depth].items);
	free(l.stack);
	for (size_t i = 0; i < l.nanchors; i++)
		free(l.anchors[i].name);
	free(l.anchors);
	free(l.slots);
	if (l.failed)
		return NULL;
	if (root == NULL) {
		yaml_mark_t m = { 0, 0, 0 };
		root = new_node(&l, Y_NULL, &m);
	}
	return root;
}

struct ynode *
ydoc_load_buffer(struct arena *arena, const char *data, size_t len,
    const char *display, const char *include_root,
    const struct ydoc_limits *limits, struct diags *diags)
{
	return load_buffer(arena, data, len, arena_strdup(arena, display),
	    NULL, include_root, NULL, limits, diags, 0, NULL);
}

struct ynode *
ydoc_load_fd(struct arena *arena, int fd, const char *display,
    const char *include_root, const struct ydoc_limits *limits,
    struct diags *diags)
{
	return ydoc_load_fd_seen(arena, fd, display, include_root, limits,
	    diags, NULL);
}

struct ynode *
ydoc_load_fd_seen(struct arena *arena, int fd, const char *display,
    const char *include_root, const struct ydoc_limits *limits,
    struct diags *diags, const struct ydoc_seen *seen)
{
	const struct ydoc_limits *lim = limits ? limits : &ydoc_default_limits;
	struct ynode *root = NULL;
	struct stat st;
	char *data;
	size_t len = 0;
	ssize_t got;

	if (fstat(fd, &st) == -1) {
		diag_add(diags, DIAG_ERROR, display, 0, 0, "cannot read: %s",
		    strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		diag_add(diags, DIAG_ERROR, display, 0, 0,
		    "not a regular file");
		return NULL;
	}
	if ((uintmax_t)st.st_size > lim->max_file_bytes) {
		diag_add(diags, DIAG_ERROR, display, 0, 0, "file is %jd bytes, "
		    "more than the limit of %zu", (intmax_t)st.st_size,
		    lim->max_file_bytes);
		return NULL;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		got = read(fd, data + len, (size_t)st.st_size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	root = load_buffer(arena, data, len, arena_strdup(arena, display),
	    NULL, include_root, seen, lim, diags, 0, NULL);
	free(data);
	return root;
}

struct ynode *
ydoc_load(struct arena *arena, const char *path, const char *display,
    const char *include_root, const struct ydoc_limits *limits,
    struct diags *diags)
{
	struct ynode *root;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		diag_add(diags, DIAG_ERROR, display, 0, 0, "cannot read: %s",
		    strerror(errno));
		return NULL;
	}
	root = ydoc_load_fd(arena, fd, display, include_root, limits, diags);
	close(fd);
	return root;
}

struct ynode *
ymap_key(const struct ynode *map, const char *key)
{
	if (map == NULL || map->kind != Y_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++) {
		struct ynode *k = map->items[2 * i];
		if (k->kind == Y_SCALAR && strcmp(k->str, key) == 0)
			return k;
	}
	return NULL;
}

struct ynode *
ymap_get(const struct ynode *map, const char *key)
{
	if (map == NULL || map->kind != Y_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++) {
		struct ynode *k = map->items[2 * i];
		if (k->kind == Y_SCALAR && strcmp(k->str, key) == 0)
			return map->items[2 * i + 1];
	}
	return NULL;
}

void
yerror(struct diags *d, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(d, DIAG_ERROR, n != NULL ? n->file : NULL,
	    n != NULL ? n->line : 0, n != NULL ? n->col : 0, "%s", msg);
	free(msg);
}

void
ywarn(struct diags *d, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(d, DIAG_WARNING, n != NULL ? n->file : NULL,
	    n != NULL ? n->line : 0, n != NULL ? n->col : 0, "%s", msg);
	free(msg);
}

const char *
ytext(const struct ynode *n, const char *what, struct diags *diags)
{
	if (n == NULL || n->kind != Y_SCALAR) {
		yerror(diags, n, "%s: expected text, found a %s", what,
		    n != NULL ? ykind_name(n->kind) : "nothing");
		return NULL;
	}
	if (strlen(n->str) != n->len) {
		yerror(diags, n, "%s: the text contains a NUL byte", what);
		return NULL;
	}
	return n->str;
}

size_t
ylist_len(const struct ynode *n)
{
	if (n == NULL || n->kind == Y_NULL)
		return 0;
	return n->kind == Y_SEQ ? n->n : 1;
}

const struct ynode *
ylist_at(const struct ynode *n, size_t i)
{
	return n->kind == Y_SEQ ? n->items[i] : n;
}

/* A string or a list of strings. */
const char **
read_strings(struct arena *a, const struct ynode *n, size_t *count,
    const char *what, struct diags *d)
{
	size_t len = ylist_len(n), out = 0;
	const char **v = arena_array(a, len ? len : 1, sizeof *v);

	for (size_t i = 0; i < len; i++) {
		const char *s = ytext(ylist_at(n, i), what, d);
		if (s != NULL)
			v[out++] = arena_intern(a, s, strlen(s));
	}
	*count = out;
	return v;
}

void
check_known_keys(struct diags *d, const struct ynode *el, const char *what,
    const char *const *allowed)
{
	if (el == NULL || el->kind != Y_MAP)
		return;
	for (size_t i = 0; i < el->n; i++) {
		const struct ynode *k = el->items[2 * i];
		bool ok = false;
		for (size_t j = 0; allowed[j] != NULL && !ok; j++)
			ok = strcmp(k->str, allowed[j]) == 0;
		if (!ok)
			ywarn(d, k, "%s: unknown key '%s' (ignored)", what,
			    k->str);
	}
}

/* A mandatory text value: NULL with an error when missing. */
const char *
need_text(struct arena *a, const struct ynode *el, const char *key,
    const char *what, struct diags *d)
{
	const struct ynode *v = ymap_get(el, key);
	const char *s;

	if (ymap_key(el, key) == NULL || yscalar_is_null(v)) {
		yerror(d, el, "%s: missing the mandatory key '%s'", what, key);
		return NULL;
	}
	if ((s = ytext(v, key, d)) == NULL)
		return NULL;
	return arena_intern(a, s, strlen(s));
}

/* An optional text value: NULL when absent. */
const char *
opt_text(struct arena *a, const struct ynode *el, const char *key,
    struct diags *d)
{
	const struct ynode *v = ymap_get(el, key);
	const char *s;

	if (yscalar_is_null(v))
		return NULL;
	if ((s = ytext(v, key, d)) == NULL)
		return NULL;
	return arena_intern(a, s, strlen(s));
}
