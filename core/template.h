/* Output file names: LiveKit's placeholders and default-name rules, and the rule that nothing
 * is written outside the output directory.
 *
 * Placeholders: {room_name} {room_id} {time} (2006-01-02T150405) {utc} (20060102150405 plus
 * milliseconds) {publisher_identity} {ingress_id}; unknown placeholders stay as written. An empty
 * path or one ending in "/" becomes "<identifier>-{time}" in that directory.
 *
 * Pure functions except sl_path_resolve(), which looks at the file system to refuse symlinks
 * that lead out. All results are transfer full. Any thread.
 */
#ifndef SL_TEMPLATE_H
#define SL_TEMPLATE_H

#include <glib.h>

G_BEGIN_DECLS

#define SL_PATH_ERROR (sl_path_error_quark())
GQuark sl_path_error_quark(void);

typedef enum {
  SL_PATH_ERROR_ABSOLUTE, /* an absolute path where a relative one is required */
  SL_PATH_ERROR_ESCAPES,  /* ".." or a symlink would lead outside the output directory */
  SL_PATH_ERROR_INVALID,  /* empty, or a control character */
  SL_PATH_ERROR_IO,       /* the directory cannot be created */
} SlPathError;

typedef struct {
  const char *room_name;
  const char *room_id;
  const char *publisher_identity;
  const char *ingress_id;
  GDateTime *now; /* the moment the output starts (UTC is used) */
} SlTemplateVars;

/* Expand placeholders in `tmpl`. */
char *sl_template_expand(const char *tmpl, const SlTemplateVars *vars);

/* Apply the default-name rule: "" or "dir/" → "dir/<identifier>-{time}" (then expand). */
char *sl_template_default_name(const char *tmpl, const char *identifier,
                               const SlTemplateVars *vars);

/* Normalise a relative path: collapse "." and "//", resolve ".." lexically, refuse absolute
 * paths and paths that climb above the start. */
char *sl_path_normalize(const char *relative, GError **error);

/* Resolve `relative` under `base_dir`: normalised as above, its parent directories created, and
 * refused when an existing component (or the file itself) is a symlink leading outside
 * `base_dir`. Returns the normalised relative path; `out_abs` (optional) gets the absolute one. */
char *sl_path_resolve(const char *base_dir, const char *relative, char **out_abs, GError **error);

G_END_DECLS

#endif /* SL_TEMPLATE_H */
