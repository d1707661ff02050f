/* upload-azure — cutting a file into blocks: the plan, the block ids and the block list.
 *
 * A file larger than one block goes up as Put Block calls (one per block, several at once, any
 * order) and one Put Block List that commits them in file order. The service's rules:
 *   - at most 50,000 blocks per blob, each at most 4000 MiB;
 *   - a block id is base64 of at most 64 bytes, and every id of one blob has the same length;
 *   - uncommitted blocks are kept for 7 days; committing a list discards the others.
 * Ids here are base64 of "<8 hex upload token>-<10-digit index>" (19 bytes, 28 characters). The
 * token is random per upload, so two uploads racing to the same name each commit only their own
 * blocks and the blob ends whole, never interleaved.
 *
 * Ownership: returned strings are transfer full (g_free). Threading: pure and reentrant.
 */
#ifndef AZ_BLOCKS_H
#define AZ_BLOCKS_H

#include <glib.h>

G_BEGIN_DECLS

#define AZ_BLOCK_SIZE      (G_GUINT64_CONSTANT(8) * 1024 * 1024)
#define AZ_MAX_BLOCKS      50000
#define AZ_MAX_BLOCK_SIZE  (G_GUINT64_CONSTANT(4000) * 1024 * 1024)
#define AZ_BLOCK_ID_LENGTH 28 /* characters of base64 */

/* Block size and count for `size` bytes: `preferred` (AZ_BLOCK_SIZE), grown in whole MiB when the
 * file would otherwise need more than AZ_MAX_BLOCKS. FALSE (AZ_ERROR_FILE) when even blocks of
 * AZ_MAX_BLOCK_SIZE are not enough. A `size` of 0 is one empty block. */
gboolean az_block_plan(guint64 size, guint64 preferred, guint64 *block_size, guint *n_blocks,
                       GError **error);

/* The base64 id of block `index` (0-based) of the upload with `token`. */
char *az_block_id(guint32 token, guint index);

/* The Put Block List body committing blocks 0 .. n_blocks-1 of `token`, in order. */
char *az_block_list_xml(guint32 token, guint n_blocks);

G_END_DECLS

#endif /* AZ_BLOCKS_H */
