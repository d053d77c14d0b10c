# A custom TorchServe handler: the logits as they come, one list per request.
from ts.torch_handler.base_handler import BaseHandler


class ResNetHandler(BaseHandler):
    def postprocess(self, data):
        return data.tolist()
