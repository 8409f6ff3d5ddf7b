"""The policy service: the sender decision for MTAs, over the Postfix protocol and local HTTP."""
