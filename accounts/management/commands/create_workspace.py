from django.core.management.base import BaseCommand, CommandParser

from accounts.models import ALL_PERMISSIONS
from accounts.services import api_key_create, workspace_create


class Command(BaseCommand):
    help = "Create a workspace and print a new API key for it (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--key-name", default="Default key")
        parser.add_argument("--permissions", default=",".join(ALL_PERMISSIONS))
        parser.add_argument("--test-key", action="store_true", help="issue an fl_test_ key")

    def handle(self, *args: object, **options: object) -> None:
        workspace = workspace_create(name=str(options["name"]))
        issued = api_key_create(
            workspace=workspace,
            name=str(options["key_name"]),
            permissions=[p for p in str(options["permissions"]).split(",") if p],
            environment="test" if options["test_key"] else "live",
        )
        self.stdout.write(f"workspace: {workspace.id} ({workspace.name})")
        self.stdout.write(f"api key:   {issued.raw_key}")
        self.stdout.write("The key is shown only once; store it now.")
