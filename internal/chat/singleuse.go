package chat

import (
	"context"
	"net/http"

	"github.com/parleyhq/parley/internal/problem"
)

// LoginSingleUse is Login for a token that travelled in a URL — the chat page's /chat/{workspace}#token=…
// — and so may linger where URLs do (a browser's history, a screenshot, a shared link): it accepts only
// a token that works once, one with a jti (the customers API's login tokens always have one). The
// widget asks for it by sending "single_use": true with the login.
func (s *Service) LoginSingleUse(ctx context.Context, v *Visitor, rawToken string) (string, *Visitor, Identity, error) {
	return s.login(ctx, v, rawToken, true)
}

func errNotSingleUse() error {
	return problem.New(http.StatusUnauthorized, "token_claims_invalid",
		"this login asks for a single-use token (single_use, as the chat page's #token= link does) but the token has no jti; "+
			"give every token you put in a link a unique jti, or issue one with the customers API (POST /v1/customers/{external_id}/login-tokens)")
}
