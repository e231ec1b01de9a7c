/* webpush_crypto.c - Web Push messages prepared per second on one core:
 * what Herald does for each browser push before it goes on the wire.
 *
 *   webpush_crypto [SECONDS]
 *
 * Rows (each runs SECONDS, default 3):
 *   evp        a fresh P-256 key pair and one ECDH through EVP_PKEY objects
 *              (the simple way, and Herald's first: its setup dominates)
 *   ec-floor   the same two multiplications on EC_POINTs (p256_ephemeral_ecdh)
 *   herald     webpush_encrypt (check the subscriber's key, key pair, ECDH,
 *              HKDF, AES-128-GCM) + the VAPID header (cached per origin, as
 *              Herald sends)
 *   herald+sign  the same with a new ES256 VAPID signature every message
 *              (the worst case: every push to a new push service)
 * Prints RESULT lines; bench/push.sh puts them beside `openssl speed`. */
#include "core/buf.h"
#include "core/crypto.h"
#include "push/ece.h"
#include "push/jws.h"
#include "push/p256.h"
#include "push/vapid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char PAYLOAD[] =
    "{\"title\":\"Harbour Physiotherapy\",\"body\":\"New booking: Tue, 24 Nov, 14:30.\","
    "\"data\":{\"notification_id\":\"ntf_123456\",\"type\":\"appointment.booked\","
    "\"event_id\":\"evt_8841\",\"url\":\"https://app.harbour.example/inbox\"}}";

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    EVP_PKEY *ua = p256_generate();
    uint8_t ua_pub[65], auth[16];
    p256_public(ua, ua_pub);
    crypto_random(auth, sizeof auth);
    EVP_PKEY *vapid_key = p256_generate();
    struct vapid *v = vapid_new(vapid_key, "mailto:ops@harbour.example");
    EVP_PKEY *peer = p256_from_public(ua_pub);
    struct buf body = BUF_INIT;

    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 64; i++, n++) {
            EVP_PKEY *k = p256_generate();
            uint8_t secret[32];
            if (!k || p256_ecdh(k, peer, secret) != 0)
                return 1;
            EVP_PKEY_free(k);
        }
    } while ((t = now_s() - t0) < secs);
    printf("RESULT mode=evp ops_per_s=%.0f\n", (double)n / t);
    n = 0;
    t0 = now_s();
    do {
        for (int i = 0; i < 64; i++, n++) {
            uint8_t mine[65], secret[32];
            if (p256_ephemeral_ecdh(ua_pub, mine, secret) != 0)
                return 1;
        }
    } while ((t = now_s() - t0) < secs);
    double floor_rate = (double)n / t;
    printf("RESULT mode=ec-floor ops_per_s=%.0f\n", floor_rate);

    for (int sign_each = 0; sign_each < 2; sign_each++) {
        n = 0;
        int64_t clock_s = 1795260000;
        t0 = now_s();
        do {
            for (int i = 0; i < 64; i++, n++) {
                buf_clear(&body);
                if (webpush_encrypt(ua_pub, auth, PAYLOAD, sizeof PAYLOAD - 1, NULL, NULL,
                                    &body) != 0)
                    return 1;
                /* signing each time: every message a token for a new hour */
                if (sign_each)
                    clock_s += 11 * 3600 + 1;
                if (!vapid_authorization(v, "https://fcm.googleapis.com/fcm/send/abc", clock_s))
                    return 1;
            }
        } while ((t = now_s() - t0) < secs);
        double rate = (double)n / t;
        printf("RESULT mode=%s messages_per_s=%.0f of_ec_floor=%.2f body_bytes=%zu "
               "signatures=%llu\n", sign_each ? "herald+sign" : "herald", rate,
               rate / floor_rate, body.len, (unsigned long long)vapid_signatures(v));
    }
    buf_free(&body);
    vapid_free(v);
    EVP_PKEY_free(vapid_key);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(ua);
    return 0;
}
