-- Issue 17: where an Authenticator request's sign-in came from (its address and user agent),
-- so that a denial or a wrong number counts against that sign-in's source — not the phone's —
-- and its log entry says where the sign-in came from. Requests made before say nothing.
ALTER TABLE push_approvals ADD COLUMN origin_ip TEXT;
ALTER TABLE push_approvals ADD COLUMN origin_user_agent TEXT;
