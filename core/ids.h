/* Identifiers and generated secrets.
 *
 * Every id sluice makes (IN_, RT_, EG_, EV_, SN_ ...) and every stream key it generates comes from
 * here, from the kernel's random source: ids are visible to anyone who can list them, and a
 * stream key is a secret, so they must not share a predictable generator. The alphabet leaves
 * out look-alike characters (0/O, 1/l/I) so a key can be read over the phone.
 *
 * All functions return newly allocated strings (transfer full) and are thread-safe.
 */
#ifndef SL_IDS_H
#define SL_IDS_H

#include <glib.h>

G_BEGIN_DECLS

/* `prefix` followed by `n` random characters. */
char *sl_id_random(const char *prefix, guint n);

/* The track id of stream `kind` ('V' video, 'A' audio) of session `session_id` (RT_x → TR_xV):
 * stable for the session's life, so track egresses can name it. */
char *sl_id_track(const char *session_id, char kind);

G_END_DECLS

#endif /* SL_IDS_H */
