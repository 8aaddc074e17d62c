package main

import (
	"context"
	"fmt"
	"strings"

	"knative.dev/pkg/apis"
	"knative.dev/serving/pkg/apis/config"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	asconfig "knative.dev/serving/pkg/autoscaler/config"
)

// knativeChecker holds the Knative configuration the webhook would have in its context.
type knativeChecker struct {
	cfg *config.Config
}

func newKnativeChecker(cluster clusterConfig) (*knativeChecker, error) {
	features, err := config.NewFeaturesConfigFromMap(orEmpty(cluster.Features))
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	defaults, err := config.NewDefaultsConfigFromMap(orEmpty(cluster.Defaults))
	if err != nil {
		return nil, fmt.Errorf("defaults: %w", err)
	}
	autoscaler, err := asconfig.NewConfigFromMap(map[string]string{})
	if err != nil {
		return nil, fmt.Errorf("autoscaler: %w", err)
	}
	return &knativeChecker{cfg: &config.Config{Features: features, Defaults: defaults, Autoscaler: autoscaler}}, nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (k *knativeChecker) check(doc *rawDocument) {
	svc := &servingv1.Service{}
	if err := decodeStrict(doc.json, svc); err != nil {
		doc.Errors = append(doc.Errors, finding{Field: "", Message: "cannot decode: " + err.Error()})
		return
	}
	ctx := apis.WithinCreate(config.ToContext(context.Background(), k.cfg))
	svc.SetDefaults(ctx)
	doc.Defaulted = svc
	fieldErr := svc.Validate(ctx)
	if fieldErr == nil {
		return
	}
	doc.Errors = append(doc.Errors, knativeFindings(fieldErr.Filter(apis.ErrorLevel))...)
	doc.Warnings = append(doc.Warnings, knativeFindings(fieldErr.Filter(apis.WarningLevel))...)
}

func knativeFindings(fe *apis.FieldError) []finding {
	out := []finding{}
	if fe == nil {
		return out
	}
	for _, one := range fe.WrappedErrors() {
		out = append(out, finding{Field: strings.Join(one.Paths, ", "), Message: one.Message, Details: one.Details})
	}
	return out
}
