"""`softphone lab` as an application: the lab server, far-end phones and the TUI together.

Kept apart from softphone.lab (the registrar/proxy, which imports no engine and no UI) because
this part runs pjsua2 far ends and opens the Textual app.
"""
