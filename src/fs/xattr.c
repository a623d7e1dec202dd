/* xattr.c -- the extended attributes of parts: user.partsfs.label,
 * params, units, given, generator, standard, license, cached and error,
 * read with standard tools (getfattr) from inside the mount. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "partsfs/tree/describe.h"

const char *const fs_xattr_names[FS_XATTRS] = {
	"user.partsfs.label",
	"user.partsfs.params",
	"user.partsfs.units",
	"user.partsfs.given",
	"user.partsfs.generator",
	"user.partsfs.standard",
	"user.partsfs.license",
	"user.partsfs.cached",
	"user.partsfs.error",
};

/* The value of an xattr (caller frees), or NULL for ENODATA. */
static char *
xattr_value(struct fs *fs, const struct library *lib, const struct fnode *n,
    fuse_ino_t ino, const char *path, const char *name)
{
	json_t *j;
	char *s;
	uint64_t size;

	if (n->status != ST_NONE || n->pn.kind != PN_PART)
		return NULL;
	/* the last attempt's failure: none once the part is made (by a later
	 * attempt, or by another process) */
	if (strcmp(name, "user.partsfs.error") == 0)
		return fnode_is_made(n) && fs_part_cached(fs, lib, &n->pn, ino,
		    &size) == 1 ? NULL : core_error_for(fs->core, path);
	if (strcmp(name, "user.partsfs.cached") == 0)
		return xstrdup(!fnode_is_made(n) ? "yes" :
		    fs_part_cached(fs, lib, &n->pn, ino, &size) == 1 ? "yes" :
		    "no");
	if ((j = describe_part(&n->pn, NULL)) == NULL)
		return NULL;
	s = fs_xattr_described(j, name);
	json_decref(j);
	return s;
}

char *
fs_xattr_described(json_t *j, const char *name)
{
	json_t *v;

	if (strcmp(name, "user.partsfs.label") == 0)
		return xstrdup(json_string_value(json_object_get(json_object_get(j,
		    "label"), "nice")) ?: "");
	if (strcmp(name, "user.partsfs.params") == 0)
		return describe_dump_compact(json_object_get(j, "params"));
	if (strcmp(name, "user.partsfs.units") == 0)
		return describe_dump_compact(json_object_get(j, "units"));
	if (strcmp(name, "user.partsfs.given") == 0)
		return describe_dump_compact(json_object_get(j, "given"));
	if (strcmp(name, "user.partsfs.generator") == 0) {
		/* the engine of the class's model, and what of the library it
		 * runs (a part of no engine has none) */
		v = json_object_get(json_object_get(j, "provenance"),
		    "generator");
		return json_is_object(v) ? describe_dump_compact(v) : NULL;
	}
	if (strcmp(name, "user.partsfs.standard") == 0) {
		v = json_object_get(j, "standard");
		return xstrdup(json_is_object(v) ? json_string_value(
		    json_object_get(v, "nice")) ?: "" : "");
	}
	if (strcmp(name, "user.partsfs.license") == 0)
		return xstrdup(json_string_value(json_object_get(j,
		    "license")) ?: "");
	return NULL;
}

void
fs_reply_xattr_value(fuse_req_t req, char *v, size_t size)
{
	size_t len;

	if (v == NULL)
		fuse_reply_err(req, ENODATA);
	else if (size == 0)
		fuse_reply_xattr(req, strlen(v));
	else if ((len = strlen(v)) > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v, len);
	free(v);
}

void
fs_reply_xattr_list(fuse_req_t req, bool part, size_t size)
{
	struct buf b = BUF_INIT;

	if (part)
		for (size_t i = 0; i < FS_XATTRS; i++)
			buf_add(&b, fs_xattr_names[i],
			    strlen(fs_xattr_names[i]) + 1);
	if (size == 0)
		fuse_reply_xattr(req, b.len);
	else if (b.len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, b.p, b.len);
	buf_free(&b);
}

bool
fs_xattr_ours(fuse_req_t req, const char *name)
{
	/*
	 * Only user attributes exist here. Saying the other namespaces are
	 * not supported (rather than empty) lets ls -l stop asking every file
	 * for its security label and ACL after the first one.
	 */
	if (!str_has_prefix(name, "user.")) {
		fuse_reply_err(req, EOPNOTSUPP);
		return false;
	}
	if (!str_has_prefix(name, "user.partsfs.")) {
		fuse_reply_err(req, ENODATA);
		return false;
	}
	return true;
}

void
fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = fuse_req_userdata(req);
	struct library *lib;
	struct fnode n;
	char *path;

	if (!fs_xattr_ours(req, name) || !fs_node_of(req, ino, &lib, &n, &path))
		return;
	fs_reply_xattr_value(req, xattr_value(fs, lib, &n, ino, path, name),
	    size);
	fnode_clear(&n);
	library_unref(lib);
	free(path);
}

void
fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct library *lib;
	struct fnode n;
	char *path;

	if (!fs_node_of(req, ino, &lib, &n, &path))
		return;
	fs_reply_xattr_list(req, n.status == ST_NONE && n.pn.kind == PN_PART,
	    size);
	fnode_clear(&n);
	library_unref(lib);
	free(path);
}
