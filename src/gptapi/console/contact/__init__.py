"""Contact Us: messages from visitors and customers, stored and mailed to the operator."""
