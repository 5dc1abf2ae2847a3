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
