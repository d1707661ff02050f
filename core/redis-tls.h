/* TLS to Redis, for a hiredis that speaks plain sockets only: an in-process tunnel per connection.
 *
 * hiredis 0.14 (the one Debian 12 packages) has no TLS. For each Redis connection the bus asks
 * for a tunnel: GIO connects to the server over TCP and does the TLS handshake; then the tunnel
 * listens on a unix socket in a directory of its own (mode 0700, made for this one connection),
 * hands its path to the bus, which connects hiredis there (redisAsyncConnectUnix), accepts that
 * one connection (checked to come from this process), removes the socket and its directory, and
 * splices the two streams both ways. hiredis sees a plain connection that carries Redis's
 * protocol; the bytes on the wire are TLS.
 *
 *   SlRedisTls     the settings, loaded once at start-up: whom to trust (the CA file, else the
 *                  system roots), the client certificate, the name verified. Files that cannot be
 *                  read or parsed fail here, with an error whose code names the key.
 *   SlRedisTunnel  one connection's tunnel: connect, handshake, local socket, splice.
 *
 * A tunnel fails the way a plain connection does: whatever ends it (a refused TCP connect, a
 * handshake that fails, a certificate that is not trusted, a server that closes or dies, a TLS
 * error mid-stream) is reported once through `down` with a sentence that says why, e.g.
 * "redis TLS: certificate for 127.0.0.1 is not trusted (ca_cert_file /etc/redis/ca.pem)". The
 * bus then closes the connection and makes it again with its usual backoff.
 *
 * Verification follows LiveKit (xtls.Config and redis.use_tls): at least TLS 1.2; the server's
 * certificate checked against the CA file or the system roots and against the name (server_name,
 * else the address's host, which is also sent as SNI when it is not an IP address); `insecure`
 * accepts any certificate and name.
 *
 * Nothing blocks: connect, handshake, accept and the splice are asynchronous on the default main
 * context. Secrets (the Redis password) travel inside the spliced bytes and are never seen here.
 *
 * Threading: main thread only (the thread that runs the default main context); callbacks run
 * there, never from inside the call that made the tunnel.
 *
 * Ownership: SlRedisTls copies what it needs from the config; it must outlive its tunnels. A
 * tunnel belongs to whoever opened it and is freed with sl_redis_tunnel_free(), at any time,
 * also from inside its own callbacks; after that no callback of it is made. The `path` passed to
 * `ready` is valid during the call only.
 */
#ifndef SL_REDIS_TLS_H
#define SL_REDIS_TLS_H

#include "bus.h"

#include <glib.h>

G_BEGIN_DECLS

#define SL_REDIS_TLS_ERROR (sl_redis_tls_error_quark())
GQuark sl_redis_tls_error_quark(void);

/* Which setting a load error is about. */
typedef enum {
  SL_REDIS_TLS_ERROR_UNSUPPORTED, /* no TLS backend in GIO (glib-networking is missing) */
  SL_REDIS_TLS_ERROR_CA_CERT_FILE,
  SL_REDIS_TLS_ERROR_CLIENT_CERT_FILE,
  SL_REDIS_TLS_ERROR_CLIENT_KEY_FILE,
} SlRedisTlsError;

/* The key under redis.tls that an SL_REDIS_TLS_ERROR is about ("ca_cert_file", ...), or NULL
 * (UNSUPPORTED, or another domain). */
const char *sl_redis_tls_error_key(const GError *error);

typedef struct _SlRedisTls SlRedisTls;
typedef struct _SlRedisTunnel SlRedisTunnel;

/* Loads the settings for connections to `host`:`port`. `config->enabled` is not looked at: the
 * caller has decided to use TLS. Client certificate and key: both or neither. */
SlRedisTls *sl_redis_tls_new(const SlRedisTlsConfig *config, const char *host, int port,
                             GError **error);
void sl_redis_tls_free(SlRedisTls *tls);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlRedisTls, sl_redis_tls_free)

/* "ca_cert_file /etc/ca.pem", "system roots" or "insecure": where trust comes from, for logs. */
const char *sl_redis_tls_describe(const SlRedisTls *tls);

/* The TLS connection is up: connect a client to `path` now (before returning). */
typedef void (*SlRedisTunnelReadyFunc)(const char *path, gpointer user_data);
/* The tunnel has failed or ended, for the reason given; it does nothing more. Called at most
 * once, before or after `ready`. */
typedef void (*SlRedisTunnelDownFunc)(const char *why, gpointer user_data);

/* Starts connecting; returns at once. */
SlRedisTunnel *sl_redis_tunnel_open(SlRedisTls *tls, SlRedisTunnelReadyFunc ready,
                                    SlRedisTunnelDownFunc down, gpointer user_data);

/* Closes the tunnel (the TLS connection is shut down cleanly in the background) and removes its
 * socket file. NULL is ignored. */
void sl_redis_tunnel_free(SlRedisTunnel *tunnel);

G_END_DECLS

#endif /* SL_REDIS_TLS_H */
