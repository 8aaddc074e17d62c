package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// rawDocument is one YAML document with its JSON form.
type rawDocument struct {
	document
	json []byte
}

// splitDocuments turns a multi-document YAML stream into JSON documents, skipping empty ones.
func splitDocuments(source string, raw []byte) ([]rawDocument, error) {
	reader := utilyaml.NewYAMLReader(bufioReader(raw))
	var out []rawDocument
	for index := 0; ; index++ {
		chunk, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, index, err)
		}
		data, err := yaml.YAMLToJSON(chunk)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, index, err)
		}
		if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return nil, fmt.Errorf("%s: document %d is not an object: %w", source, index, err)
		}
		out = append(out, rawDocument{
			document: document{
				Source: source, Index: index, APIVersion: head.APIVersion, Kind: head.Kind,
				Name: head.Metadata.Name, Errors: []finding{}, Warnings: []finding{},
			},
			json: data,
		})
	}
}

// decodeStrict decodes JSON into out, refusing unknown fields as the webhooks' decoders do.
func decodeStrict(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(out)
}

// checkDocument runs the webhook code for the document's kind. Webhooks expect what the API
// server hands them: the object after its CRD's schema defaults. Where those are missing the
// upstream code may dereference a nil field; that is reported as a finding, not a crash.
func checkDocument(doc *rawDocument, knative *knativeChecker) {
	defer func() {
		if r := recover(); r != nil {
			doc.Errors = append(doc.Errors, finding{Message: fmt.Sprintf(
				"the webhook code panicked (%v); a field the CRD schema defaults is probably missing "+
					"(validate the object as the API server returns it, e.g. from a dry-run apply)", r)})
		}
	}()
	switch {
	case doc.APIVersion == "serving.knative.dev/v1" && doc.Kind == "Service":
		doc.Checked, doc.Checker = true, "knative.dev/serving Service SetDefaults+Validate"
		knative.check(doc)
	case doc.APIVersion == "leaderworkerset.x-k8s.io/v1" && doc.Kind == "LeaderWorkerSet":
		doc.Checked, doc.Checker = true, "sigs.k8s.io/lws webhook Default+ValidateCreate"
		checkLeaderWorkerSet(doc)
	}
}
