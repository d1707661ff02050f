/* upload-azure — block plan, ids and list. See blocks.h. */
#include "blocks.h"

#include <string.h>

#include "errors.h"

#define MIB (G_GUINT64_CONSTANT(1024) * 1024)

gboolean az_block_plan(guint64 size, guint64 preferred, guint64 *block_size, guint *n_blocks,
                       GError **error)
{
  guint64 bs = preferred > 0 ? preferred : AZ_BLOCK_SIZE;
  if (size > AZ_MAX_BLOCK_SIZE * AZ_MAX_BLOCKS) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_FILE,
                "the file is %" G_GUINT64_FORMAT
                " bytes; a block blob holds at most 50,000 blocks of 4000 MiB",
                size);
    return FALSE;
  }
  if ((size + bs - 1) / bs > AZ_MAX_BLOCKS) {
    bs = (size + AZ_MAX_BLOCKS - 1) / AZ_MAX_BLOCKS;
    bs = (bs + MIB - 1) / MIB * MIB;
  }
  *block_size = bs;
  *n_blocks = size == 0 ? 1 : (guint)((size + bs - 1) / bs);
  return TRUE;
}

char *az_block_id(guint32 token, guint index)
{
  char raw[32];
  int n = g_snprintf(raw, sizeof raw, "%08x-%010u", token, index);
  g_assert(n == 19);
  return g_base64_encode((const guchar *)raw, (gsize)n);
}

char *az_block_list_xml(guint32 token, guint n_blocks)
{
  GString *s = g_string_sized_new(64 + (gsize)n_blocks * (AZ_BLOCK_ID_LENGTH + 17));
  g_string_append(s, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
  for (guint i = 0; i < n_blocks; i++) {
    g_autofree char *id = az_block_id(token, i);
    /* base64 needs no XML escaping */
    g_string_append_printf(s, "<Latest>%s</Latest>", id);
  }
  g_string_append(s, "</BlockList>");
  return g_string_free(s, FALSE);
}
