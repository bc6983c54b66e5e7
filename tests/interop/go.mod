module guise.test/interop

// Go 1.24: crypto/tls with X25519MLKEM768 on by default. A program built without
// this line (GOPATH mode) gets old GODEBUG defaults and silently disables ML-KEM.
go 1.24
