package main

import (
	"bufio"
	"bytes"
)

func bufioReader(raw []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(raw)) }
