module github.com/modelgate/modelgate/bench/suite/goload

go 1.19

require (
	github.com/modelgate/modelgate/clients/go v0.0.0
	google.golang.org/protobuf v1.28.1
)

replace github.com/modelgate/modelgate/clients/go => ../../../clients/go
