from django.contrib.auth.forms import AuthenticationForm

from yiyang.core.forms import BootstrapFormMixin


class LoginForm(BootstrapFormMixin, AuthenticationForm):
    pass
