module github.com/t1071detect/t1071detect-go

go 1.19

require google.golang.org/protobuf v1.28.1

// Debian's golang-google-protobuf-dev: builds offline, no module proxy.
// Elsewhere drop this line (and let go.sum be filled from the proxy).
replace google.golang.org/protobuf => /usr/share/gocode/src/google.golang.org/protobuf
