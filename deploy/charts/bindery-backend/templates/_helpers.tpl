{{/* Name of the chart, or nameOverride. */}}
{{- define "bindery-backend.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the objects: fullnameOverride, else the release name when it contains the chart name,
else <release>-<chart>. Installing the release "bindery-backend" gives objects named bindery-backend.
*/}}
{{- define "bindery-backend.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "bindery-backend.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "bindery-backend.labels" -}}
helm.sh/chart: {{ include "bindery-backend.chart" . }}
{{ include "bindery-backend.selectorLabels" . }}
app.kubernetes.io/version: {{ include "bindery-backend.imageTag" . | quote }}
app.kubernetes.io/component: backend
app.kubernetes.io/part-of: bindery
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels selecting the backend's pods. */}}
{{- define "bindery-backend.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bindery-backend.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the ServiceAccount the backend runs as. */}}
{{- define "bindery-backend.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bindery-backend.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image tag: image.tag, else the chart's appVersion. */}}
{{- define "bindery-backend.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* Namespace of the session key Secret and the leader-election Lease (--namespace). */}}
{{- define "bindery-backend.sessionNamespace" -}}
{{- default .Release.Namespace .Values.sessionNamespace }}
{{- end }}

{{/* Name of the ConfigMap the chart creates for CA bundles given as values. */}}
{{- define "bindery-backend.caConfigMapName" -}}
{{- printf "%s-ca" (include "bindery-backend.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The ConfigMap and key of a CA bundle (oidc.ca or consumerServer.ca) as "<configmap> <key>", or
empty when none is given. Call with (list . <the ca values> <name of the values> <key in the
created ConfigMap>).
*/}}
{{- define "bindery-backend.caSource" -}}
{{- $root := index . 0 }}{{ $ca := index . 1 }}{{ $what := index . 2 }}{{ $createdKey := index . 3 }}
{{- if and $ca.bundle $ca.existingConfigMap }}
{{- fail (printf "%s.bundle and %s.existingConfigMap are exclusive: give the PEM bundle or the name of a ConfigMap holding it, not both" $what $what) }}
{{- else if $ca.existingConfigMap }}
{{- printf "%s %s" $ca.existingConfigMap $ca.key }}
{{- else if $ca.bundle }}
{{- printf "%s %s" (include "bindery-backend.caConfigMapName" $root) $createdKey }}
{{- end }}
{{- end }}

{{/*
Checks the values that decide how the backend signs people in and how they reach it, and fails
with a message naming the value.
*/}}
{{- define "bindery-backend.validate" -}}
{{- if .Values.devOIDC.enabled }}
{{- if .Values.oidc.issuerURL }}
{{- fail "devOIDC.enabled and oidc.issuerURL are exclusive: the embedded development issuer is the issuer" }}
{{- end }}
{{- if .Values.tls.existingSecret }}
{{- fail "devOIDC.enabled serves the page and its issuer on the pod's loopback address only (reach them with kubectl port-forward): leave tls.existingSecret empty" }}
{{- end }}
{{- $_ := required "devOIDC.users.existingSecret is required with devOIDC.enabled: a Secret holding the users file (see values.yaml)" .Values.devOIDC.users.existingSecret }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail "devOIDC.enabled runs one replica: every replica would embed an issuer of its own" }}
{{- end }}
{{- else }}
{{- $_ := required "externalURL is required: the https URL where browsers and kubectl bindery reach the backend, e.g. https://bind.example.com" .Values.externalURL }}
{{- if not (hasPrefix "https://" .Values.externalURL) }}
{{- fail "externalURL must be an https URL: the backend serves HTTPS (tls.existingSecret), and its cookies are Secure only then" }}
{{- end }}
{{- $_ := required "tls.existingSecret is required: a kubernetes.io/tls Secret with the serving certificate of externalURL's host (the backend serves plain HTTP only on a loopback address)" .Values.tls.existingSecret }}
{{- $_ := required "oidc.issuerURL is required: the https URL of the OIDC issuer that the provider's kube-apiserver trusts too (or devOIDC.enabled for development)" .Values.oidc.issuerURL }}
{{- $_ := required "oidc.clientID is required: the backend's client at the issuer" .Values.oidc.clientID }}
{{- $_ := required "oidc.clientSecret.existingSecret is required: a Secret holding the client secret" .Values.oidc.clientSecret.existingSecret }}
{{- end }}
{{- $_ := required "consumerServer.url is required: the provider kube-apiserver's URL as the consumers' konnectors reach it, e.g. https://provider.example.com:6443 (the in-cluster address does not work from other clusters)" .Values.consumerServer.url }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 requires leaderElection.enabled: the controllers run on one replica at a time" }}
{{- end }}
{{- end }}
