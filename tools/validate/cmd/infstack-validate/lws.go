package main

import (
	"context"
	"errors"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	lwsv1 "sigs.k8s.io/lws/api/leaderworkerset/v1"
	"sigs.k8s.io/lws/pkg/webhooks"
)

func checkLeaderWorkerSet(doc *rawDocument) {
	lws := &lwsv1.LeaderWorkerSet{}
	if err := decodeStrict(doc.json, lws); err != nil {
		doc.Errors = append(doc.Errors, finding{Message: "cannot decode: " + err.Error()})
		return
	}
	hook := &webhooks.LeaderWorkerSetWebhook{}
	ctx := context.Background()
	if err := hook.Default(ctx, lws); err != nil {
		doc.Errors = append(doc.Errors, finding{Message: "defaulting failed: " + err.Error()})
		return
	}
	doc.Defaulted = lws
	warnings, err := hook.ValidateCreate(ctx, lws)
	for _, w := range warnings {
		doc.Warnings = append(doc.Warnings, finding{Message: w})
	}
	if err == nil {
		return
	}
	var agg utilerrors.Aggregate
	if !errors.As(err, &agg) {
		doc.Errors = append(doc.Errors, finding{Message: err.Error()})
		return
	}
	for _, one := range agg.Errors() {
		var fe *field.Error
		if errors.As(one, &fe) {
			doc.Errors = append(doc.Errors, finding{Field: fe.Field, Message: fe.ErrorBody()})
		} else {
			doc.Errors = append(doc.Errors, finding{Message: one.Error()})
		}
	}
}
