"""Local stand-ins for outside services (Slack's Web API and Socket Mode), served over real HTTP on 127.0.0.1."""
