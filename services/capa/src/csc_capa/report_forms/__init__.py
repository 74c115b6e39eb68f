"""The CAPA report in the format 4.3.4 asks for: the customer's own, an 8D, or the company's CPAR.

"Where the customer has its own report format, QC uses it; where the customer
asks for 8D, an 8D is run; otherwise the company's own Corrective/Preventive
Request Form records it." One CAPA, as the capa read model serves it
(``GET /capas/{case_id}``), prints three ways, each as PDF and XLSX through
``csc_forms``:

- ``eight_d_form``: the 8D report, D0 to D8;
- ``cpar_form``: the company's Corrective/Preventive Action Request form
  (纠正/预防措施要求单; the procedure calls it 纠正预防要求表), the same facts
  in the internal form's order;
- ``customer_form``: the customer's own layout, from a Jinja2 template the
  customer's format was registered with.

The three are in ``layouts``, with ``validate_template``; what they print in
both languages in ``labels``, and what they print alike (the header, the
footer) in ``parts``. The customer's template is rendered in ``sandbox`` and
read in ``language``, both described below; ``samples`` holds the CAPA and the
template it is checked against.

The customer's template
-----------------------
A template is rendered in Jinja2's immutable sandbox with ``StrictUndefined``
and no autoescaping. It sees ``capa`` (the CAPA, as above) and ``now`` (when
the report is generated, a UTC ``datetime``), and three filters:
``department`` (``quality`` -> ``品管部 Quality``), ``moment`` (an ISO time ->
``2026-11-24 09:00``, UTC) and ``day`` (an ISO time or date -> ``2026-11-24``).

What it renders is read line by line into the same form model as the other
two formats:

- ``# 中文标题 | English title`` starts a section: a two-column table of
  items and details;
- ``中文标签 | English label: value`` is a line of the current section, or a
  header field of the form before the first section (a full-width ``：``
  works as the colon too);
- any other line is a note: a row of the current section with no label;
- blank lines are ignored, so loops and conditions need no whitespace control.

Only the template's own text makes the layout: whatever ``{{ ... }}`` prints
(a description with newlines, a colon or a ``#``) stays one value. A section
with no lines prints "无 None". Something not recorded yet (``capa.closure``
before closure, ``capa.d4[-1]`` before a root cause) prints as "—", and so
does anything read from it, so a template renders at every stage of a CAPA;
a name the CAPA does not have (a typo) is an error. ``validate_template``
renders a template against ``SAMPLE_CAPA`` before it is registered and names
the line of what is wrong.

A template's cost is bounded, so no customer's format can stall capa: it is
at most 65,536 characters, its loops nest at most two deep (a loop in a loop; a
``recursive`` loop is refused), and one render takes at most ``MAX_STEPS``
steps (each loop iteration, call and filter is one), makes no value longer
than ``MAX_VALUE`` characters or items and no report longer than
``MAX_OUTPUT``. A template over any bound is refused when it is registered,
saying which bound; to find the ones only a large CAPA reaches, it is also
rendered against ``LARGE_SAMPLE_CAPA``, the sample with every list many times
over. The example, ``EXAMPLE_TEMPLATE``::

"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from csc_capa.report_forms.labels import (
    ACTION_KINDS,
    CUSTOMER_TITLE,
    SOURCES,
    STATUSES,
)
from csc_capa.report_forms.language import TemplateProblem
from csc_capa.report_forms.layouts import cpar_form, customer_form, eight_d_form, validate_template
from csc_capa.report_forms.parts import filename
from csc_capa.report_forms.samples import EXAMPLE_TEMPLATE, LARGE_SAMPLE_CAPA, SAMPLE_CAPA
from csc_forms import REMEDIES

# The example, shown in this module's documentation as it is.
__doc__ = (__doc__ or "") + textwrap.indent(EXAMPLE_TEMPLATE, "    ")

__all__: Sequence[str] = (
    "ACTION_KINDS",
    "CUSTOMER_TITLE",
    "EXAMPLE_TEMPLATE",
    "LARGE_SAMPLE_CAPA",
    "REMEDIES",
    "SAMPLE_CAPA",
    "SOURCES",
    "STATUSES",
    "TemplateProblem",
    "cpar_form",
    "customer_form",
    "eight_d_form",
    "filename",
    "validate_template",
)
