package sqs

import (
	"net/http"
	"slices"
)

func (s *Server) createQueueOp(r request) (any, error) {
	var in struct {
		QueueName  string
		Attributes map[string]string
	}
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	now := s.lockSettled()
	defer s.mu.Unlock()
	url, err := s.createQueueLocked(in.QueueName, in.Attributes, now)
	if err != nil {
		return nil, err
	}
	return struct{ QueueUrl string }{url}, nil
}

func (s *Server) getQueueURLOp(r request) (any, error) {
	var in struct {
		QueueName              string
		QueueOwnerAWSAccountId string
	}
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	s.lockSettled()
	defer s.mu.Unlock()
	if _, ok := s.queues[in.QueueName]; !ok || (in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != s.account) {
		return nil, queueDoesNotExist()
	}
	return struct{ QueueUrl string }{s.queueURLLocked(in.QueueName)}, nil
}

func (s *Server) getQueueAttributesOp(r request) (any, error) {
	var in struct {
		QueueUrl       string
		AttributeNames []string
	}
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	all := q.attributes(now)
	out := map[string]string{}
	for _, name := range in.AttributeNames {
		if name == "All" {
			out = all
			break
		}
		if !knownAttribute(name) {
			return nil, invalidAttributeName(name)
		}
		if v, ok := all[name]; ok {
			out[name] = v
		}
	}
	return struct {
		Attributes map[string]string `json:",omitempty"`
	}{out}, nil
}

func knownAttribute(name string) bool {
	_, numeric := intAttributes[name]
	return numeric || name == "RedrivePolicy" || slices.Contains(readOnlyAttributes, name)
}

func (s *Server) setQueueAttributesOp(r request) (any, error) {
	var in struct {
		QueueUrl   string
		Attributes map[string]string
	}
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	c := q.config
	if err := s.applyAttributesLocked(&c, in.Attributes); err != nil {
		return nil, err
	}
	q.config = c
	q.modified = now
	s.notifyLocked()
	return struct{}{}, nil
}

func (s *Server) deleteQueueOp(r request) (any, error) {
	var in struct{ QueueUrl string }
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	delete(s.queues, q.name)
	s.deleted[q.name] = now
	s.notifyLocked()
	return struct{}{}, nil
}

func (s *Server) purgeQueueOp(r request) (any, error) {
	var in struct{ QueueUrl string }
	if err := decode(r.body, &in); err != nil {
		return nil, err
	}
	now := s.lockSettled()
	defer s.mu.Unlock()
	q, err := s.queueLocked(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if !q.purged.IsZero() && now.Before(q.purged.Add(purgeInterval)) {
		return nil, sqsError(http.StatusForbidden, "PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress",
			"Only one PurgeQueue operation on "+q.name+" is allowed every 60 seconds.")
	}
	q.purged = now
	q.messages = nil
	return struct{}{}, nil
}
