/* libFuzzer target: untrusted API request bodies through the strict JSON check, json-glib and the
 * protobuf JSON reader, for the requests that start work (CreateIngressRequest,
 * StartEgressRequest, RoomCompositeEgressRequest); the same bytes also go through bearer-token
 * verification.
 *
 * Besides the sanitizers, invariants are checked: a request that reads must write, what is
 * written must read back strictly and write again byte for byte the same, the Go-server output
 * style must read back to the same canonical form, and every failure is a pbjson or jwt error.
 */
#include "jwt.h"
#include "pbjson.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const SlPbMessage *const targets[] = {
    &sl_pb_livekit_CreateIngressRequest,
    &sl_pb_livekit_StartEgressRequest,
    &sl_pb_livekit_RoomCompositeEgressRequest,
};

static const char *fuzz_lookup(const char *api_key, gpointer data)
{
  return strcmp(api_key, "APIfuzz") == 0 ? "fuzz-secret-0123456789" : NULL;
}

static void check_roundtrip(const SlPbMessage *type, JsonObject *obj)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *canonical = sl_pbjson_to_string(type, obj, SL_PBJSON_NONE, &error);
  g_autofree char *go_style = NULL;
  g_autofree char *again = NULL;
  g_autofree char *from_go = NULL;
  g_autoptr(JsonObject) back = NULL;
  g_autoptr(JsonObject) back_go = NULL;

  if (canonical == NULL)
    abort();
  back = sl_pbjson_parse(type, canonical, -1, SL_PBJSON_STRICT, NULL);
  if (back == NULL)
    abort();
  again = sl_pbjson_to_string(type, back, SL_PBJSON_NONE, NULL);
  if (again == NULL || strcmp(again, canonical) != 0)
    abort();

  go_style = sl_pbjson_to_string(type, obj, SL_PBJSON_PROTO_NAMES | SL_PBJSON_EMIT_DEFAULTS, NULL);
  if (go_style == NULL)
    abort();
  back_go = sl_pbjson_parse(type, go_style, -1, SL_PBJSON_STRICT, NULL);
  if (back_go == NULL)
    abort();
  from_go = sl_pbjson_to_string(type, back_go, SL_PBJSON_NONE, NULL);
  if (from_go == NULL || strcmp(from_go, canonical) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  for (guint i = 0; i < G_N_ELEMENTS(targets); i++) {
    for (int strict = 0; strict <= 1; strict++) {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) obj =
          sl_pbjson_parse(targets[i], (const char *)data, (gssize)size,
                          strict ? SL_PBJSON_STRICT : SL_PBJSON_NONE, &error);
      if (obj == NULL) {
        if (error == NULL || error->domain != SL_PBJSON_ERROR)
          abort();
        continue;
      }
      check_roundtrip(targets[i], obj);
    }
  }

  if (size <= SL_JWT_MAX_TOKEN_LEN + 16) {
    g_autofree char *token = g_strndup((const char *)data, size);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) claims = NULL;
    if (sl_jwt_verify(token, fuzz_lookup, NULL, 1800000000, &claims, &error)) {
      if (claims == NULL || !json_object_has_member(claims, "exp"))
        abort();
      (void)sl_jwt_has_video_grant(claims, "roomRecord");
    } else if (error == NULL || error->domain != SL_JWT_ERROR) {
      abort();
    }
  }
  return 0;
}
