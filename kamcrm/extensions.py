"""Unbound extension objects, bound to an app in ``create_app``."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from kamcrm.db import Base

db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
#: Rate limits (failed sign-ins); storage from RATELIMIT_STORAGE_URI, see kamcrm.security.
limiter = Limiter(key_func=get_remote_address)
