package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/control"
)

// MCPPath is where the MCP server (streamable HTTP) is served.
const MCPPath = "/mcp"

type mcpActorKey struct{}

// mcpHandler serves the MCP tools (package assist/tools) over streamable
// HTTP. It authenticates every request itself with an API token — a cookie
// session is not accepted, so a browser page cannot drive it with the
// user's ambient credentials — and binds the session's tools to the
// token's organisation and role.
//
// The transport is stateless: each POST carries its own token and is served
// by a server built for that token's actor, so there is no session a
// second token could join, and a revoked token stops working at once.
// The SDK's localhost Host-header check is off: it guards servers that
// trust whoever connects, and this one trusts only the bearer token (it
// also runs behind reverse proxies that forward a public Host).
func (s *Server) mcpHandler() http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		a, ok := r.Context().Value(mcpActorKey{}).(control.Actor)
		if !ok || s.tools == nil {
			return nil
		}
		return s.tools.Server(tools.Session{Actor: func(context.Context) (control.Actor, error) { return a, nil }})
	}, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, Logger: s.log, DisableLocalhostProtection: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="connectplus"`)
			s.fail(w, r, newHTTPError(http.StatusUnauthorized, "unauthenticated", "the MCP endpoint needs an API token: Authorization: Bearer cpt_…"))
			return
		}
		a, err := s.authenticate(w, r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="connectplus", error="invalid_token"`)
			s.fail(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), mcpActorKey{}, a)))
	})
}
