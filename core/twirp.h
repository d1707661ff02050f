/* A Twirp JSON server on libsoup 3, as LiveKit's server SDKs expect one.
 *
 * Twirp maps an RPC to `POST /twirp/<package>.<Service>/<Method>` with the request message as the
 * body and the response message as the answer; failures are `{"code","msg","meta"}` JSON with an
 * HTTP status fixed per code. This module does the transport half for every service sluice
 * serves: routing, Content-Type, the body size cap, bearer-token authentication (core/jwt.h),
 * the grant each method needs, reading the request into normalised form (core/pbjson.h) and
 * writing the response as canonical protobuf JSON. Handlers see only validated requests from
 * authorised callers.
 *
 * Mirroring LiveKit's Go servers: only POST routes (anything else is `bad_route`, HTTP 404, as
 * Twirp specifies for that code), an unexpected Content-Type is `bad_route`, a body that is not
 * JSON is `malformed` ("the json request could not be decoded", the parser's complaint in
 * meta.cause), unknown request fields are skipped (protojson with DiscardUnknown). Deliberate
 * differences: a value of the wrong type or an unknown enum name is `invalid_argument` naming
 * the field (Go says `malformed`); `application/protobuf` is `unimplemented` (sluice speaks JSON
 * only); a missing or bad token is `unauthenticated` before the body is read, and a missing grant
 * is `permission_denied`, also before the body is read.
 *
 * Handlers answer when they are ready: synchronously from inside the handler, or later from the
 * main loop (the HTTP message is paused meanwhile). Each call is answered exactly once, with
 * sl_twirp_reply() or sl_twirp_error*(), which also frees it. If the client goes away first the
 * answer is dropped quietly; sl_twirp_call_client_gone() lets a slow handler notice.
 *
 * Logging goes through sl_log (component "api"), which scrubs registered secrets; request bodies
 * and tokens are never logged.
 *
 * Ownership: SlTwirp keeps a reference to the SoupServer it is attached to and removes its
 * handlers when freed. Method tables and their user data are borrowed and must outlive every call
 * made through them. A pending SlTwirpCall does not refer to its SlTwirp, so the SlTwirp may be
 * freed while handlers still hold calls.
 *
 * Threading: main thread only (the thread whose main context the SoupServer runs in); handlers
 * run there and must answer there.
 */
#ifndef SL_TWIRP_H
#define SL_TWIRP_H

#include "jwt.h"
#include "pbjson.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Twirp's error codes (https://twitchtv.github.io/twirp/docs/spec_v7.html#error-codes). */
typedef enum {
  SL_TWIRP_CANCELED,
  SL_TWIRP_UNKNOWN,
  SL_TWIRP_INVALID_ARGUMENT,
  SL_TWIRP_MALFORMED,
  SL_TWIRP_DEADLINE_EXCEEDED,
  SL_TWIRP_NOT_FOUND,
  SL_TWIRP_BAD_ROUTE,
  SL_TWIRP_ALREADY_EXISTS,
  SL_TWIRP_PERMISSION_DENIED,
  SL_TWIRP_UNAUTHENTICATED,
  SL_TWIRP_RESOURCE_EXHAUSTED,
  SL_TWIRP_FAILED_PRECONDITION,
  SL_TWIRP_ABORTED,
  SL_TWIRP_OUT_OF_RANGE,
  SL_TWIRP_UNIMPLEMENTED,
  SL_TWIRP_INTERNAL,
  SL_TWIRP_UNAVAILABLE,
  SL_TWIRP_DATALOSS,
} SlTwirpCode;

/* "invalid_argument", ... */
const char *sl_twirp_code_name(SlTwirpCode code);
/* The HTTP status Twirp assigns to `code` (invalid_argument 400, not_found 404, ...). */
guint sl_twirp_code_status(SlTwirpCode code);
/* Parses a code name; FALSE when it is not one. */
gboolean sl_twirp_code_from_name(const char *name, SlTwirpCode *out);

/* Request bodies larger than this are refused (`malformed`, as a Go server behind a body limit
 * would answer). */
#define SL_TWIRP_MAX_BODY (1024 * 1024)

typedef struct _SlTwirp SlTwirp;
typedef struct _SlTwirpCall SlTwirpCall;

/* `request` is the normalised request (borrowed: valid until the call is answered). */
typedef void (*SlTwirpHandler)(SlTwirpCall *call, JsonObject *request, gpointer user_data);

typedef struct {
  const char *name;            /* "CreateIngress" */
  const SlPbMessage *request;  /* &sl_pb_livekit_CreateIngressRequest */
  const SlPbMessage *response; /* &sl_pb_livekit_IngressInfo */
  const char *grant;           /* video grant the token must carry ("ingressAdmin"), or NULL */
  SlTwirpHandler handler;
} SlTwirpMethod;

/* Tokens are checked against the API keys `lookup` knows (see SlJwtKeyLookup). `lookup_data` is
 * borrowed. */
SlTwirp *sl_twirp_new(SlJwtKeyLookup lookup, gpointer lookup_data);
void sl_twirp_free(SlTwirp *twirp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlTwirp, sl_twirp_free)

/* Serves `service` ("livekit.Ingress") with `methods`, an array ended by an entry whose name is
 * NULL. Both are borrowed; `user_data` is passed to every handler. Adding a service name twice
 * replaces the first. */
void sl_twirp_add_service(SlTwirp *twirp, const char *service, const SlTwirpMethod *methods,
                          gpointer user_data);

/* Takes over the "/twirp" path of `server`. Call once. */
void sl_twirp_attach(SlTwirp *twirp, SoupServer *server);

/* How responses are written: SL_PBJSON_NONE (default) for canonical protobuf JSON, or
 * SL_PBJSON_PROTO_NAMES | SL_PBJSON_EMIT_DEFAULTS for what LiveKit's Go server sends. */
void sl_twirp_set_output_flags(SlTwirp *twirp, SlPbjsonFlags flags);

/* Answers with `response` (borrowed; normalised or in any form pbjson reads) written as the
 * method's response message, and frees `call`. A response the schema refuses becomes `internal`. */
void sl_twirp_reply(SlTwirpCall *call, JsonObject *response);

/* Answers with a Twirp error and frees `call`. `msg` is shown to the client: no secrets. */
void sl_twirp_error(SlTwirpCall *call, SlTwirpCode code, const char *msg);
/* The same with a `meta` object of string values (borrowed; may be NULL). */
void sl_twirp_error_with_meta(SlTwirpCall *call, SlTwirpCode code, const char *msg,
                              JsonObject *meta);
/* Answers with `error` mapped to a code: SL_PBJSON_ERROR → invalid_argument/malformed,
 * SL_JWT_ERROR → unauthenticated/permission_denied, anything else → internal. */
void sl_twirp_error_from_gerror(SlTwirpCall *call, const GError *error);

/* Accessors for handlers; results are borrowed and live as long as the call. */
const char *sl_twirp_call_get_service(SlTwirpCall *call); /* "livekit.Ingress" */
const char *sl_twirp_call_get_method(SlTwirpCall *call);  /* "CreateIngress" */
JsonObject *sl_twirp_call_get_request(SlTwirpCall *call);
JsonObject *sl_twirp_call_get_claims(SlTwirpCall *call); /* the verified token's claims */
/* TRUE once the client has disconnected; an answer would be dropped. */
gboolean sl_twirp_call_client_gone(SlTwirpCall *call);

G_END_DECLS

#endif /* SL_TWIRP_H */
