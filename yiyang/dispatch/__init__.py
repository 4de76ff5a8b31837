"""Route planning for home-care dispatch (派单): the planning model, travel times, pre-checks,
the PyVRP back end and the ``plan_day``/``replan`` entry points. No Django models: the
home-care app persists plans."""
