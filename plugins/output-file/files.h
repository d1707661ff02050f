/* output-file — the plugin's file-system access: atomic replacement of small files, parent
 * directories, sizes, and the check that a path given in the options stays under the output dir.
 *
 * Playlists are rewritten whole after every segment. A player, an uploader or a crash may look
 * at the file at any moment, so each write goes to a temporary file beside the target and is
 * renamed over it: the name always holds either the previous complete text or the new one.
 *
 * Ownership: arguments are transfer none. Threading: reentrant; the segments bin calls it from
 * splitmuxsink's streaming threads, under its own mutex, so two writes of one file never race.
 */
#ifndef OF_FILES_H
#define OF_FILES_H

#include <glib.h>

G_BEGIN_DECLS

/* Replace `path` (absolute) with `len` bytes of `contents`, creating missing parent directories.
 * Returns FALSE with `error` set (G_FILE_ERROR) when it could not. */
gboolean of_atomic_write(const char *path, const char *contents, gsize len, GError **error);

/* Create the parent directories of `path` (absolute). FALSE with `error` set (G_FILE_ERROR). */
gboolean of_make_parent_dirs(const char *path, GError **error);

/* Check that `path`, relative to the output dir, stays inside it: not empty, not absolute, no
 * ".." component, no empty last component. `what` names the option in the error message
 * (SLUICE_OUTPUT_ERROR_OPTIONS). The handler checks this already; the bin checks again because
 * it is the one that writes. */
gboolean of_check_relative_path(const char *path, const char *what, GError **error);

/* Size in bytes of the file at `path`, or 0 when it cannot be read. */
guint64 of_file_size(const char *path);

G_END_DECLS

#endif /* OF_FILES_H */
