from __future__ import annotations

from django.http import FileResponse, HttpResponseRedirect
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from fileloom.errors import ApplicationError, ErrorCode
from storage_app import builtin, links
from storage_app.models import StoredFile


class FileContentView(APIView):
    """GET a built-in file through a signed link: no API key, the signature is the credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema = None

    def get(self, request: Request, file_id: str):  # type: ignore[no-untyped-def]
        check = links.verify(file_id, request.query_params.get("expires"), request.query_params.get("signature"))
        if not check.valid:
            raise ApplicationError("This link is invalid or has been altered", code=ErrorCode.LINK_INVALID, status=403)
        if check.expired:
            raise ApplicationError("This link has expired", code=ErrorCode.LINK_EXPIRED, status=410)
        file = StoredFile.objects.filter(pk=file_id).first()
        if file is None or file.is_deleted:
            raise ApplicationError("This file has been deleted", code=ErrorCode.FILE_GONE, status=410)
        if builtin.provider_name() == "s3":
            url = builtin.presigned_url(file.storage_key, expires_in=300, filename=file.filename)
            return HttpResponseRedirect(url)
        try:
            handle = builtin.open_for_read(file.storage_key)
        except FileNotFoundError:
            raise ApplicationError("This file is no longer stored", code=ErrorCode.FILE_GONE, status=410) from None
        response = FileResponse(handle, content_type=file.content_type, filename=file.filename)
        response["Content-Disposition"] = response["Content-Disposition"].replace("attachment", "inline")
        response["Cache-Control"] = "private, max-age=300"
        return response
