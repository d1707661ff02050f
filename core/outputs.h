/* Output requests → what a handler builds.
 *
 * An ingress's configured outputs and an egress request's outputs speak LiveKit's field names
 * with templates in them. Before a handler sees them, the service expands the templates, applies
 * the default-name rules and checks every path against output_dir (template.h), so a handler
 * (and an output plugin) only ever receives paths that are relative, normalised and inside it.
 *
 * Ownership: returned objects are transfer full. Main thread (the file system is touched to
 * create directories and refuse symlinks).
 */
#ifndef SL_OUTPUTS_H
#define SL_OUTPUTS_H

#include "template.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Options for one output of `type` ("file" or "segments") from `request` (LiveKit field names:
 * file: filepath; segments: filename_prefix, playlist_name, live_playlist_name,
 * segment_duration, filename_suffix). `identifier` names outputs without a name (the room, or a
 * participant). Returns NULL with `error` set when a path would leave `output_dir`. */
JsonObject *sl_outputs_resolve(const char *output_dir, const char *type, JsonObject *request,
                               const char *identifier, const SlTemplateVars *vars, GError **error);

G_END_DECLS

#endif /* SL_OUTPUTS_H */
