// Command infstack-validate runs the admission code of Knative Serving and LeaderWorkerSet,
// built from their Go modules, over rendered manifests and prints the findings as JSON.
//
//	infstack-validate [-config FILE|-] [-defaulted] [FILE|-]...
//
// The config is a JSON object {"features": {...}, "defaults": {...}} holding the cluster's
// Knative config-features and config-defaults data (as in the ConfigMaps). Each YAML document is
// checked the way the webhooks check a create: Knative Services get SetDefaults then Validate,
// LeaderWorkerSets get the LWS webhook's Default then ValidateCreate. Other kinds are listed as
// not checked. With -defaulted each checked document's report carries the object as the
// defaulting webhook leaves it. Exit status: 0 all checked documents pass, 1 findings, 2 bad input.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

type finding struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Details string `json:"details,omitempty"`
}

type document struct {
	Source     string    `json:"source"`
	Index      int       `json:"index"`
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Checked    bool      `json:"checked"`
	Checker    string    `json:"checker,omitempty"`
	Errors     []finding `json:"errors"`
	Warnings   []finding `json:"warnings"`
	Defaulted  any       `json:"defaulted,omitempty"`
}

type report struct {
	OK        bool              `json:"ok"`
	Modules   map[string]string `json:"modules"`
	Documents []document        `json:"documents"`
}

type clusterConfig struct {
	Features map[string]string `json:"features"`
	Defaults map[string]string `json:"defaults"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("infstack-validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "JSON file ('-' for stdin) with Knative features and defaults")
	withDefaulted := fs.Bool("defaulted", false, "include each checked object after defaulting")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	cfg := clusterConfig{}
	if *configPath != "" {
		raw, err := readSource(*configPath, stdin)
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			err = dec.Decode(&cfg)
		}
		if err != nil {
			return usageError(stderr, fmt.Errorf("config %s: %w", *configPath, err))
		}
	}
	knative, err := newKnativeChecker(cfg)
	if err != nil {
		return usageError(stderr, fmt.Errorf("config %s: %w", *configPath, err))
	}
	out := report{OK: true, Modules: moduleVersions(), Documents: []document{}}
	for _, file := range files {
		raw, err := readSource(file, stdin)
		if err != nil {
			return usageError(stderr, err)
		}
		docs, err := splitDocuments(file, raw)
		if err != nil {
			return usageError(stderr, err)
		}
		for _, doc := range docs {
			checkDocument(&doc, knative)
			if !*withDefaulted {
				doc.Defaulted = nil
			}
			if len(doc.Errors) > 0 {
				out.OK = false
			}
			out.Documents = append(out.Documents, doc.document)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return usageError(stderr, err)
	}
	if !out.OK {
		return 1
	}
	return 0
}

func usageError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "infstack-validate: %v\n", err)
	return 2
}

func readSource(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(path)
}

// moduleVersions names the upstream modules whose code ran, as linked into this binary.
func moduleVersions() map[string]string {
	out := map[string]string{}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	for _, dep := range info.Deps {
		switch dep.Path {
		case "knative.dev/serving", "knative.dev/pkg", "sigs.k8s.io/lws", "k8s.io/api", "k8s.io/apimachinery":
			out[dep.Path] = dep.Version
		}
	}
	return out
}
