/* keys.c - generation, parsing and hashing of keys and secrets (auth.h). */
#include "auth/auth.h"

#include <string.h>

enum credential_kind credential_kind_of(const char *bearer)
{
    if (!bearer || !*bearer)
        return CRED_NONE;
    if (strncmp(bearer, "hak_", 4) == 0)
        return CRED_ADMIN;
    if (strncmp(bearer, "hk_", 3) == 0)
        return CRED_API_KEY;
    if (strchr(bearer, '.'))
        return CRED_MEMBER_TOKEN;
    return CRED_UNKNOWN;
}

char *admin_key_generate(void)
{
    return crypto_token("hak_", 32);
}

char *signing_secret_generate(void)
{
    return crypto_token("hss_", 32);
}

char *apikey_generate(char key_id[APIKEY_ID_LEN + 1])
{
    uint8_t id[APIKEY_ID_LEN / 2];
    crypto_random(id, sizeof id);
    hex_encode(id, sizeof id, key_id);
    char prefix[4 + APIKEY_ID_LEN + 1];
    memcpy(prefix, "hk_", 3);
    memcpy(prefix + 3, key_id, APIKEY_ID_LEN);
    prefix[3 + APIKEY_ID_LEN] = '_';
    prefix[4 + APIKEY_ID_LEN] = '\0';
    return crypto_token(prefix, 32);
}

int apikey_id(const char *key, char key_id[APIKEY_ID_LEN + 1])
{
    if (strncmp(key, "hk_", 3) != 0 || strlen(key) < 4 + APIKEY_ID_LEN + 1 ||
        key[3 + APIKEY_ID_LEN] != '_')
        return -1;
    for (int i = 0; i < APIKEY_ID_LEN; i++) {
        char c = key[3 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
        key_id[i] = c;
    }
    key_id[APIKEY_ID_LEN] = '\0';
    return 0;
}

void key_hash(const char *key, uint8_t out[SHA256_LEN])
{
    crypto_sha256(key, strlen(key), out);
}

bool key_hash_matches(const char *key, const uint8_t stored[SHA256_LEN])
{
    uint8_t h[SHA256_LEN];
    key_hash(key, h);
    return crypto_equal(h, stored, SHA256_LEN);
}
