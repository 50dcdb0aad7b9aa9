package api

import _ "embed"

// openAPI is the OpenAPI 3.1 document of the routes (A4 in doc.go).
//
//go:embed openapi.json
var openAPI []byte
