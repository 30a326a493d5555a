"""Scrapy's side of bench/run.sh: follow every link of the benchmark site once.

    scrapy runspider bench/scrapy_spider.py -a start=http://host0.bench:PORT/ \
        -a domains=host0.bench,host1.bench -s CONCURRENT_REQUESTS=16 -O out.jsonl

A CrawlSpider with the stock LinkExtractor, as a Scrapy user would write it; one item (the
URL) per page, so the output can be checked against the ground truth.
"""

from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule


class BenchSpider(CrawlSpider):
    name = "bench"
    custom_settings = {
        "LOG_LEVEL": "ERROR",
        "ROBOTSTXT_OBEY": True,
        "DEPTH_LIMIT": 0,
        "TELNETCONSOLE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "RETRY_TIMES": 2,
        "DOWNLOAD_TIMEOUT": 30,
    }

    def __init__(self, start=None, domains="", *args, **kwargs):
        self.start_urls = [start]
        self.allowed_domains = [d for d in domains.split(",") if d]
        self.rules = (
            # No allow_domains here: Scrapy 2.8 compares it with host:port and so drops every
            # link to a non-default port. The offsite middleware (allowed_domains, host only)
            # keeps the crawl on the site.
            Rule(LinkExtractor(), callback="parse_page", follow=True),
        )
        super().__init__(*args, **kwargs)

    def parse_start_url(self, response):
        return self.parse_page(response)

    def parse_page(self, response):
        yield {"url": response.url, "status": response.status}
