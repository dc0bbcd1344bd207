"""The Slack adapter: Bolt listeners, Block Kit rendering, delivery, HTTP and Socket Mode transports."""
