// the Mini Book's own script
document.documentElement.dataset.minibook = "loaded";
