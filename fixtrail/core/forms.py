"""One layout for every form: the renderer Django uses for ``{{ form }}``.

Each field renders as its label, the widget, the help text (tied to the
widget with aria-describedby) and the errors under it; a checkbox sits
before its label. Errors that concern no single field come first, as an
alert. The templates are core/templates/forms/form.html and field.html.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates


class FormRenderer(DjangoTemplates):
    """Django's template renderer with Fixtrail's form and field layout."""

    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
