"""Widgets of the main screen; each renders part of the PhoneModel."""
