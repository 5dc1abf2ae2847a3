package api

// RoutePatterns returns "METHOD /path/{param}" for every registered
// endpoint, so that the OpenAPI test can check the document covers them.
func RoutePatterns() []string {
	s := &server{}
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.method+" "+rt.pattern)
	}
	return out
}

// RouteScopes returns the scope each endpoint needs ("METHOD /path/{param}"
// to its Scopes; zero for none), for the tests of scopes and of the OpenAPI
// document.
func RouteScopes() map[string]Scopes {
	s := &server{}
	out := map[string]Scopes{}
	for _, rt := range s.routes() {
		out[rt.method+" "+rt.pattern] = rt.scope
	}
	return out
}
