-- The SQLite schema of coach_api on main before migrations (commit 37f936b made it with
-- SQLAlchemy's create_all): what an existing installation's coach.db holds.
CREATE TABLE users (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	email VARCHAR(320) NOT NULL, 
	password_hash VARCHAR(200) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	token_key VARCHAR(32) NOT NULL, 
	created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE TABLE routines (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	owner_id INTEGER NOT NULL, 
	name VARCHAR(120) NOT NULL, 
	movement VARCHAR(40) NOT NULL, 
	fps DOUBLE NOT NULL, 
	frames INTEGER NOT NULL, 
	reps INTEGER NOT NULL, 
	blob VARCHAR(200) NOT NULL, 
	published BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	FOREIGN KEY(owner_id) REFERENCES users (id)
);
CREATE INDEX ix_routines_owner_id ON routines (owner_id);
CREATE INDEX ix_routines_published ON routines (published);
CREATE TABLE sessions (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	user_id INTEGER NOT NULL, 
	routine_id INTEGER NOT NULL, 
	routine_name VARCHAR(120) NOT NULL, 
	score DOUBLE NOT NULL, 
	report_json TEXT NOT NULL, 
	blob VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	FOREIGN KEY(user_id) REFERENCES users (id)
);
CREATE INDEX ix_sessions_user_id ON sessions (user_id);
CREATE INDEX ix_sessions_routine_id ON sessions (routine_id);
CREATE INDEX ix_sessions_created_at ON sessions (created_at);
CREATE TABLE jobs (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	user_id INTEGER NOT NULL, 
	status VARCHAR(12) NOT NULL, 
	session_id INTEGER, 
	routine_id INTEGER, 
	error VARCHAR(500) NOT NULL, 
	video_blob VARCHAR(200) NOT NULL, 
	keep_video BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_jobs_status ON jobs (status);
CREATE INDEX ix_jobs_user_id ON jobs (user_id);
CREATE TABLE invitations (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	code_sha256 VARCHAR(64) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	created_by INTEGER, 
	expires_at DATETIME NOT NULL, 
	used_by INTEGER, 
	created_at DATETIME NOT NULL, 
	UNIQUE (code_sha256), 
	FOREIGN KEY(created_by) REFERENCES users (id) ON DELETE SET NULL, 
	FOREIGN KEY(used_by) REFERENCES users (id) ON DELETE SET NULL
);
CREATE TABLE feedback (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	session_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	error_index INTEGER NOT NULL, 
	kind VARCHAR(40) NOT NULL, 
	verdict VARCHAR(8) NOT NULL, 
	comment VARCHAR(500) NOT NULL, 
	created_at DATETIME NOT NULL, 
	FOREIGN KEY(session_id) REFERENCES sessions (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_feedback_user_id ON feedback (user_id);
CREATE INDEX ix_feedback_session_id ON feedback (session_id);
