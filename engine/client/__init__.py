"""What client-go gives every component: keyed work queues and the controller worker loop."""
