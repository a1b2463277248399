/* SPDX-License-Identifier: BSD-3-Clause
 *
 * jwt_check: verify tokens, one per line on stdin, for one issuer, and print
 * one reason name per line ("ok", "jwt_bad_signature", ...). Used by
 * test_openssl_tokens.py to check tokens minted by the openssl tool.
 *   jwt_check JWKS_FILE ISSUER AUDIENCE ALG[,ALG...] NOW_S
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt/jwks.h"
#include "jwt/jwt.h"

int main(int argc, char **argv)
{
	char err[512];
	static char line[PC_JWT_MAX_TOKEN_LEN * 8];

	if (argc != 6) {
		fprintf(stderr, "usage: %s JWKS_FILE ISSUER AUDIENCE ALG[,ALG...] NOW_S\n", argv[0]);
		return 2;
	}
	struct pc_jwks *ks = pc_jwks_load_file(argv[1], err, sizeof(err));
	if (!ks) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	struct pc_str aud = { argv[3], (uint32_t)strlen(argv[3]) };
	struct pc_jwt_issuer is;
	pc_jwt_issuer_init(&is);
	is.issuer = (struct pc_str){ argv[2], (uint32_t)strlen(argv[2]) };
	is.audiences = &aud;
	is.n_audiences = 1;
	is.keys = ks;
	for (char *tok = strtok(argv[4], ","); tok; tok = strtok(NULL, ",")) {
		int a = pc_jwt_alg_from_name(tok, strlen(tok));
		if (a < 0) {
			fprintf(stderr, "unknown algorithm %s\n", tok);
			return 2;
		}
		is.algs |= PC_JWT_ALG_BIT(a);
	}
	int64_t now = strtoll(argv[5], NULL, 10);
	struct pc_jwt_scratch *s = pc_jwt_scratch_new();
	if (!s)
		return 2;
	while (fgets(line, sizeof(line), stdin)) {
		size_t len = strcspn(line, "\r\n");
		struct pc_jwt_claims c;
		enum pc_jwt_reason r = pc_jwt_verify(&is, line, len, now, s, &c);
		if (r == PC_JWT_OK)
			printf("ok sub=%.*s\n", (int)c.sub.len, c.sub.p ? c.sub.p : "");
		else
			printf("%s\n", pc_jwt_reason_name(r));
	}
	pc_jwt_scratch_free(s);
	pc_jwks_free(ks);
	return 0;
}
